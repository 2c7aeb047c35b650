"""Our vocabulary as typo-proof Python names (checked against ``ontology/next2met.ttl`` by the tests)."""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

BASE = "https://w3id.org/next2met/"
NUTS = Namespace("http://data.europa.eu/nuts/code/")
SCHEMA = Namespace("https://schema.org/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
SPDX = Namespace("http://spdx.org/rdf/terms#")


class N2M(DefinedNamespace):
    """Terms of https://w3id.org/next2met/ontology#."""

    _fail = True
    _NS = Namespace("https://w3id.org/next2met/ontology#")

    Action: URIRef
    ActionPlan: URIRef
    Community: URIRef
    GoodPractice: URIRef
    Indicator: URIRef
    LearningEvent: URIRef
    LearningFlow: URIRef
    Milestone: URIRef
    NetworkPosition: URIRef
    Partner: URIRef
    PolicyInstrument: URIRef
    Project: URIRef
    Region: URIRef
    StakeholderInvolvement: URIRef
    actionCount: URIRef
    betweenness: URIRef
    bridgesCommunity: URIRef
    budget: URIRef
    challenge: URIRef
    community: URIRef
    confidence: URIRef
    confidenceNote: URIRef
    dataGeneration: URIRef
    degree: URIRef
    difficulties: URIRef
    evidenceOfSuccess: URIRef
    focusRegion: URIRef
    fromRegion: URIRef
    goodPracticeDatabasePage: URIRef
    host: URIRef
    hubRank: URIRef
    improves: URIRef
    innovationStage: URIRef
    inspiredBy: URIRef
    inspires: URIRef
    instrumentType: URIRef
    learnedFrom: URIRef
    locationNote: URIRef
    mainInstitution: URIRef
    meanConfidence: URIRef
    measureType: URIRef
    metropolis: URIRef
    milestone: URIRef
    missingProperty: URIRef
    nutsLevel: URIRef
    pageRank: URIRef
    participants: URIRef
    partnerCode: URIRef
    plausiblyInspiredBy: URIRef
    positionOf: URIRef
    practiceCount: URIRef
    presentedAt: URIRef
    programme: URIRef
    programmeTopic: URIRef
    representsRegion: URIRef
    resourcesNeeded: URIRef
    result: URIRef
    ris3Sector: URIRef
    sourceProject: URIRef
    stakeholderType: URIRef
    standing: URIRef
    submittedBy: URIRef
    successIndicator: URIRef
    templateCompleteness: URIRef
    templateField: URIRef
    theme: URIRef
    toRegion: URIRef
    transferPotential: URIRef
    viaAction: URIRef
    viaPractice: URIRef
    warningCount: URIRef


def concept(scheme: str, code: str, base: str = BASE) -> URIRef:
    """The IRI of a concept of one of our SKOS schemes."""
    return URIRef(f"{base}concept/{scheme}/{code}")


def scheme(name: str, base: str = BASE) -> URIRef:
    """The IRI of one of our SKOS concept schemes."""
    return URIRef(f"{base}concept/{name}")
