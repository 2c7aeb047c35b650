"""Describe the dataset for harvesters: a DCAT-AP 3.0 catalogue (with its distributions and the SPARQL service)
and a VoID description with statistics (``void.py``), both as RDF triples serialised deterministically.

What the catalogue says about the data (modified, temporal and spatial coverage, languages, keywords) is read
from the data; what it says about the publisher is the ``next2met-kg developers`` organisation of the ontology.
The EU codes it uses (themes, file types, languages, countries, licence, access right) are stated as
``skos:Concept`` of their EU Publications Office authority table, because the DCAT-AP vocabulary shapes check
that and the tables themselves cannot be fetched by a validator that works offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from .dumps import DumpSet
from .formats import Format, rdf_format
from .prefixes import prefixes
from .store import Store

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
FOAF = "http://xmlns.com/foaf/0.1/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
SCHEMA = "https://schema.org/"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
NUTS = "http://data.europa.eu/nuts/code/"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
DQV = "http://www.w3.org/ns/dqv#"
# DCAT-AP 3.0.1's vocabulary shape accepts only checksum algorithms whose IRI starts with https://spdx.org/rdf/terms
# (mdr-vocabularies.shape.ttl, ChecksumAlgorithmRestriction), although SPDX 2.3 itself uses http://; we follow the
# profile so that the catalogue validates with zero violations.
SHA256 = "https://spdx.org/rdf/terms#checksumAlgorithm_sha256"


# English labels of the EU authority-table codes we use (the tables' own labels).
THEMES = {"REGI": "Regions and cities", "TECH": "Science and technology", "GOVE": "Government and public sector"}
LANGUAGES = {
    "en": ("ENG", "English"),
    "fi": ("FIN", "Finnish"),
    "sv": ("SWE", "Swedish"),
    "de": ("DEU", "German"),
    "es": ("SPA", "Spanish"),
    "ca": ("CAT", "Catalan"),
    "pl": ("POL", "Polish"),
    "ga": ("GLE", "Irish"),
    "fr": ("FRA", "French"),
    "it": ("ITA", "Italian"),
    "nl": ("NLD", "Dutch"),
    "pt": ("POR", "Portuguese"),
    "el": ("ELL", "Greek"),
    "cs": ("CES", "Czech"),
    "sk": ("SLK", "Slovak"),
    "sl": ("SLV", "Slovenian"),
    "hu": ("HUN", "Hungarian"),
    "ro": ("RON", "Romanian"),
    "bg": ("BUL", "Bulgarian"),
    "hr": ("HRV", "Croatian"),
    "da": ("DAN", "Danish"),
    "et": ("EST", "Estonian"),
    "lv": ("LAV", "Latvian"),
    "lt": ("LIT", "Lithuanian"),
    "mt": ("MLT", "Maltese"),
    "eu": ("EUS", "Basque"),
    "gl": ("GLG", "Galician"),
}
# NUTS country code -> EU country table code (ISO 3166-1 alpha-3) and English name.
COUNTRIES = {
    "AT": ("AUT", "Austria"),
    "BE": ("BEL", "Belgium"),
    "BG": ("BGR", "Bulgaria"),
    "CY": ("CYP", "Cyprus"),
    "CZ": ("CZE", "Czechia"),
    "DE": ("DEU", "Germany"),
    "DK": ("DNK", "Denmark"),
    "EE": ("EST", "Estonia"),
    "EL": ("GRC", "Greece"),
    "ES": ("ESP", "Spain"),
    "FI": ("FIN", "Finland"),
    "FR": ("FRA", "France"),
    "HR": ("HRV", "Croatia"),
    "HU": ("HUN", "Hungary"),
    "IE": ("IRL", "Ireland"),
    "IT": ("ITA", "Italy"),
    "LT": ("LTU", "Lithuania"),
    "LU": ("LUX", "Luxembourg"),
    "LV": ("LVA", "Latvia"),
    "MT": ("MLT", "Malta"),
    "NL": ("NLD", "Netherlands"),
    "PL": ("POL", "Poland"),
    "PT": ("PRT", "Portugal"),
    "RO": ("ROU", "Romania"),
    "SE": ("SWE", "Sweden"),
    "SI": ("SVN", "Slovenia"),
    "SK": ("SVK", "Slovakia"),
    "NO": ("NOR", "Norway"),
    "IS": ("ISL", "Iceland"),
    "LI": ("LIE", "Liechtenstein"),
    "CH": ("CHE", "Switzerland"),
    "UK": ("GBR", "United Kingdom"),
}
TITLE = {
    "en": "Next2Met good practices knowledge graph",
    "de": "Wissensgraph der guten Praktiken des Projekts Next2Met",
    "fi": "Next2Met-hankkeen hyvien käytäntöjen tietograafi",
    "es": "Grafo de conocimiento de buenas prácticas de Next2Met",
    "ca": "Graf de coneixement de bones pràctiques de Next2Met",
    "pl": "Graf wiedzy o dobrych praktykach projektu Next2Met",
}
DESCRIPTION = {
    "en": "Good practices of regional development exchanged in the Interreg Europe project Next2Met, with the "
    "organisations, regions (NUTS), action plans, policy instruments and learning events connected to them, "
    "as linked open data checked against SHACL shapes.",
    "de": "Gute Praktiken der Regionalentwicklung aus dem Interreg-Europe-Projekt Next2Met, mit den beteiligten "
    "Organisationen, Regionen (NUTS), Aktionsplänen, Politikinstrumenten und Lernveranstaltungen, als offene "
    "verknüpfte Daten.",
    "fi": "Interreg Europe -hankkeessa Next2Met vaihdetut aluekehityksen hyvät käytännöt sekä niihin liittyvät "
    "organisaatiot, alueet (NUTS), toimintasuunnitelmat, politiikkainstrumentit ja oppimistapahtumat avoimena "
    "linkitettynä datana.",
    "es": "Buenas prácticas de desarrollo regional intercambiadas en el proyecto Interreg Europe Next2Met, con las "
    "organizaciones, regiones (NUTS), planes de acción, instrumentos políticos y eventos de aprendizaje "
    "relacionados, como datos abiertos enlazados.",
    "ca": "Bones pràctiques de desenvolupament regional intercanviades al projecte Interreg Europe Next2Met, amb les "
    "organitzacions, regions (NUTS), plans d'acció, instruments de política i esdeveniments d'aprenentatge "
    "relacionats, com a dades obertes enllaçades.",
    "pl": "Dobre praktyki rozwoju regionalnego wymieniane w projekcie Interreg Europe Next2Met wraz z powiązanymi "
    "organizacjami, regionami (NUTS), planami działań, instrumentami polityki i wydarzeniami edukacyjnymi, "
    "jako otwarte dane powiązane.",
}
KEYWORDS = ("Next2Met", "Interreg Europe", "good practice", "regional development", "digitalisation", "linked data")


@dataclass(frozen=True)
class Site:
    """Where the dataset lives: its base IRI (identity) and the server's public origin (download links)."""

    base: str
    origin: str  # scheme://host[:port][/prefix], without a trailing slash
    name: str = "next2met"

    @property
    def dataset(self) -> str:
        return f"{self.base}dataset/{self.name}"

    @property
    def catalogue(self) -> str:
        return f"{self.base}catalog"

    @property
    def service(self) -> str:
        return f"{self.base}service/sparql"

    @property
    def publisher(self) -> str:
        return f"{self.base}organisation/next2met-kg-developers"

    @property
    def sparql_url(self) -> str:
        return f"{self.origin}/sparql"

    def dump_url(self, filename: str) -> str:
        return f"{self.origin}/dumps/{filename}"


class Graph:
    """A set of triples built with short helpers; serialised sorted, so equal content gives equal bytes."""

    def __init__(self) -> None:
        self.triples: set[ox.Triple] = set()

    def add(self, s: str, p: str, o: ox.NamedNode | ox.Literal | str) -> None:
        obj = ox.NamedNode(o) if isinstance(o, str) else o
        self.triples.add(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), obj))

    def a(self, s: str, *classes: str) -> None:
        for c in classes:
            self.add(s, RDF + "type", c)

    def text(self, s: str, p: str, value: str, lang: str | None = None) -> None:
        self.add(s, p, ox.Literal(value, language=lang) if lang else ox.Literal(value))

    def typed(self, s: str, p: str, value: str | int, datatype: str) -> None:
        self.add(s, p, ox.Literal(str(value), datatype=ox.NamedNode(datatype)))

    def url(self, s: str, p: str, url: str) -> None:
        """Link to a web address, typed rdfs:Resource as the DCAT-AP 3.0.0 shapes expect of access and endpoint URLs."""
        self.add(s, p, url)
        self.a(url, RDFS + "Resource")

    def concept(self, iri: str, scheme: str, label: str, *classes: str) -> None:
        """State that an EU code is a concept of its authority table (what the DCAT-AP vocabulary shapes check)."""
        self.a(iri, SKOS + "Concept", *classes)
        self.add(iri, SKOS + "inScheme", scheme)
        self.text(iri, SKOS + "prefLabel", label, "en")

    def sorted(self) -> list[ox.Triple]:
        return sorted(self.triples, key=str)


def serialize(triples: Iterable[ox.Triple], fmt: Format) -> bytes:
    """Serialise triples in a stable order (sorted), so the same description always has the same bytes."""
    data = fmt.write_triples(sorted(triples, key=str), prefixes=prefixes())
    assert data is not None  # no output file given: the bytes are returned
    return data


# -- facts read from the data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    modified: ox.Literal | None
    start: ox.Literal | None
    end: ox.Literal | None
    regions: tuple[tuple[str, str], ...]  # (NUTS IRI, English name)
    countries: tuple[str, ...]  # NUTS country codes
    languages: tuple[str, ...]  # language tags of the texts
    keywords: tuple[str, ...]
    publisher_name: str


def coverage(store: Store, base: str) -> Coverage:
    """What the data says about itself: last change, time span, places, languages, frequent keywords."""
    modified = _extreme(store, f"SELECT DISTINCT ?v WHERE {{ ?s <{DCT}modified> ?v }}", max)
    start = _extreme(store, f"SELECT DISTINCT ?v WHERE {{ ?s <{SCHEMA}startDate> ?v }}", min)
    end = _extreme(store, f"SELECT DISTINCT ?v WHERE {{ ?s <{SCHEMA}endDate>|<{SCHEMA}startDate> ?v }}", max)
    rows = store.query(f"""SELECT ?r (SAMPLE(?l) AS ?label) WHERE {{
        ?s <{DCT}spatial> ?r FILTER(isIRI(?r) && STRSTARTS(STR(?r), "{NUTS}"))
        OPTIONAL {{ ?r <{SKOS}prefLabel> ?l FILTER(langMatches(lang(?l), "en")) }}
    }} GROUP BY ?r ORDER BY ?r""").rows()
    regions = tuple((r["r"].value, r["label"].value if "label" in r else r["r"].value[len(NUTS) :]) for r in rows)
    countries = tuple(sorted({iri[len(NUTS) : len(NUTS) + 2] for iri, _ in regions} & COUNTRIES.keys()))
    langs = store.query('SELECT DISTINCT (LCASE(LANG(?o)) AS ?lang) WHERE { ?s ?p ?o FILTER(LANG(?o) != "") }')
    languages = tuple(sorted({r["lang"].value.split("-")[0] for r in langs.rows()} & LANGUAGES.keys()))
    top = store.query(f"""SELECT ?k (COUNT(DISTINCT ?s) AS ?n) WHERE {{
        ?s <{DCAT}keyword> ?k FILTER(langMatches(lang(?k), "en") || lang(?k) = "")
    }} GROUP BY ?k ORDER BY DESC(?n) ?k LIMIT 12""").rows()
    keywords = tuple(dict.fromkeys([*KEYWORDS, *(r["k"].value for r in top)]))
    names = store.query(
        f"SELECT ?n WHERE {{ <{base}organisation/next2met-kg-developers> <{FOAF}name> ?n }} ORDER BY ?n LIMIT 1"
    ).rows()
    return Coverage(
        modified,
        start,
        end,
        regions,
        countries,
        languages,
        keywords,
        names[0]["n"].value if names else "next2met-kg developers",
    )


def _extreme(store: Store, sparql: str, pick) -> ox.Literal | None:
    """The earliest or latest date-like literal (xsd:date, dateTime, gYear), compared by its lexical form."""
    values = [r["v"] for r in store.query(sparql).rows() if isinstance(r["v"], ox.Literal)]
    values = [v for v in values if v.datatype.value in (XSD + "date", XSD + "dateTime", XSD + "gYear")]
    if not values:
        return None
    chosen = pick(values, key=lambda v: v.value)
    if chosen.datatype.value == XSD + "dateTime":  # a day is precise enough for "modified" and coverage
        return ox.Literal(chosen.value[:10], datatype=ox.NamedNode(XSD + "date"))
    return chosen


# -- the DCAT-AP catalogue -------------------------------------------------------------------------------------
def catalogue(store: Store, site: Site, dumps: DumpSet | None, releases: Iterable = ()) -> list[ox.Triple]:
    """The DCAT-AP 3 catalogue: catalogue, dataset, distributions (dumps and SPARQL), the SPARQL service and the
    releases (``releases.catalog_triples``)."""
    cov = coverage(store, site.base)
    g = Graph()
    cat, ds, svc = site.catalogue, site.dataset, site.service
    home = f"{site.origin}/"
    licence, public = EU + "licence/CC_BY_4_0", EU + "access-right/PUBLIC"

    g.a(cat, DCAT + "Catalog")
    g.text(cat, DCT + "title", "next2met-kg data catalogue", "en")
    g.text(
        cat,
        DCT + "description",
        "The datasets this next2met-kg server publishes, their downloads and its SPARQL endpoint.",
        "en",
    )
    g.add(cat, DCT + "publisher", site.publisher)
    g.add(cat, DCAT + "dataset", ds)
    g.add(cat, DCAT + "service", svc)
    g.add(cat, FOAF + "homepage", home)
    g.add(cat, DCT + "license", licence)
    g.add(cat, DCAT + "themeTaxonomy", EU + "data-theme")
    g.add(cat, DCT + "language", EU + "language/ENG")
    g.a(home, FOAF + "Document")
    g.a(EU + "data-theme", SKOS + "ConceptScheme")
    g.text(EU + "data-theme", DCT + "title", "Data theme", "en")

    _agents(g, site, cov)
    g.a(licence, DCT + "LicenseDocument")
    g.concept(licence, EU + "licence", "Creative Commons Attribution 4.0 International")
    g.add(licence, DCT + "type", "http://purl.org/adms/licencetype/Attribution")
    g.concept("http://purl.org/adms/licencetype/Attribution", "http://purl.org/adms/licencetype/1.0", "Attribution")
    g.concept(public, EU + "access-right", "public", DCT + "RightsStatement")
    ontology = f"{site.base}ontology"
    g.a(ontology, DCT + "Standard")
    g.text(ontology, DCT + "title", "next2met-kg ontology", "en")
    g.a(SPARQL_PROTOCOL, DCT + "Standard")
    g.text(SPARQL_PROTOCOL, DCT + "title", "SPARQL 1.1 Protocol", "en")

    g.a(ds, DCAT + "Dataset")
    for lang in sorted(TITLE):
        g.text(ds, DCT + "title", TITLE[lang], lang)
        g.text(ds, DCT + "description", DESCRIPTION[lang], lang)
    g.text(ds, DCT + "identifier", ds)
    g.add(ds, DCT + "publisher", site.publisher)
    g.add(ds, DCAT + "contactPoint", site.publisher + "#contact")
    g.add(ds, DCT + "license", licence)
    g.add(ds, DCT + "accessRights", public)
    g.add(ds, DCT + "conformsTo", ontology)
    g.add(ds, DCAT + "landingPage", home)
    for kw in cov.keywords:
        g.text(ds, DCAT + "keyword", kw, "en")
    g.text(svc, DCAT + "keyword", "SPARQL", "en")
    g.text(svc, DCAT + "keyword", "linked data", "en")
    for code, label in THEMES.items():
        g.add(ds, DCAT + "theme", EU + "data-theme/" + code)
        g.add(svc, DCAT + "theme", EU + "data-theme/" + code)
        g.concept(EU + "data-theme/" + code, EU + "data-theme", label)
    for tag in cov.languages:
        code, label = LANGUAGES[tag]
        g.add(ds, DCT + "language", EU + "language/" + code)
        g.concept(EU + "language/" + code, EU + "language", label, DCT + "LinguisticSystem")
    g.concept(EU + "language/ENG", EU + "language", "English", DCT + "LinguisticSystem")
    _spatial(g, ds, cov, cat)
    if cov.modified is not None:
        g.add(ds, DCT + "modified", cov.modified)
        g.add(cat, DCT + "modified", cov.modified)
    if cov.start is not None or cov.end is not None:
        period = ds + "#temporal"
        g.add(ds, DCT + "temporal", period)
        g.a(period, DCT + "PeriodOfTime")
        if cov.start is not None:
            g.add(period, DCAT + "startDate", cov.start)
        if cov.end is not None:
            g.add(period, DCAT + "endDate", cov.end)

    _quality(g, store, site)
    from .releases import catalog_triples

    catalog_triples(g, site, list(releases))
    for f in dumps.files if dumps else ():
        _distribution(g, site, f, licence)
    sparql_dist = f"{ds}/distribution/sparql"
    g.add(ds, DCAT + "distribution", sparql_dist)
    g.a(sparql_dist, DCAT + "Distribution")
    g.text(sparql_dist, DCT + "title", "SPARQL endpoint", "en")
    g.text(
        sparql_dist,
        DCT + "description",
        "Query the dataset with SPARQL 1.1 (the default graph is the union of all named graphs).",
        "en",
    )
    g.url(sparql_dist, DCAT + "accessURL", site.sparql_url)
    g.add(sparql_dist, DCAT + "accessService", svc)
    g.add(sparql_dist, DCT + "license", licence)

    g.a(svc, DCAT + "DataService")
    g.text(svc, DCT + "title", "SPARQL endpoint of the Next2Met good practices knowledge graph", "en")
    g.url(svc, DCAT + "endpointURL", site.sparql_url)
    g.url(svc, DCAT + "endpointDescription", site.sparql_url)
    g.add(svc, DCAT + "servesDataset", ds)
    g.add(svc, DCT + "conformsTo", SPARQL_PROTOCOL)
    g.add(svc, DCT + "publisher", site.publisher)
    g.add(svc, DCT + "license", licence)
    g.add(svc, DCT + "accessRights", public)
    g.add(svc, DCAT + "contactPoint", site.publisher + "#contact")
    return g.sorted()


def _quality(g: Graph, store: Store, site: Site) -> None:
    """The dataset's quality measurements (W3C DQV, as DCAT-AP recommends), from the derived quality graph."""
    rows = store.query(f"""SELECT ?m ?metric ?value WHERE {{ GRAPH <{site.base}graph/derived/quality> {{
        ?m <{DQV}computedOn> <{site.dataset}> ; <{DQV}isMeasurementOf> ?metric ; <{DQV}value> ?value }} }}""").rows()
    for r in rows:
        m = r["m"].value
        g.add(site.dataset, DQV + "hasQualityMeasurement", m)
        g.a(m, DQV + "QualityMeasurement")
        g.add(m, DQV + "computedOn", site.dataset)
        g.add(m, DQV + "isMeasurementOf", r["metric"].value)
        g.add(m, DQV + "value", r["value"])


def _agents(g: Graph, site: Site, cov: Coverage) -> None:
    """The publisher (the developers' organisation, as the ontology names it) and its contact point."""
    g.a(site.publisher, FOAF + "Agent", FOAF + "Organization")
    g.text(site.publisher, FOAF + "name", cov.publisher_name, "en")
    contact = site.publisher + "#contact"
    g.a(contact, VCARD + "Kind", VCARD + "Organization")
    g.text(contact, VCARD + "fn", cov.publisher_name, "en")
    g.add(contact, VCARD + "hasURL", f"{site.origin}/")


def _spatial(g: Graph, ds: str, cov: Coverage, cat: str) -> None:
    """Where the data is about: the countries, from the EU country table, as ``dct:spatial`` (DCAT-AP's vocabulary
    shapes want its values from the EU tables or GeoNames), and next to them the NUTS regions of the practices as
    ``dct:coverage``, the broader DCMI property of which ``dct:spatial`` is a refinement (no EU table lists NUTS)."""
    for code in cov.countries:
        iri = EU + "country/" + COUNTRIES[code][0]
        g.add(ds, DCT + "spatial", iri)
        g.add(cat, DCT + "spatial", iri)
        g.concept(iri, EU + "country", COUNTRIES[code][1], DCT + "Location")
    for iri, label in cov.regions:
        g.add(ds, DCT + "coverage", iri)
        g.a(iri, DCT + "Location")
        g.text(iri, SKOS + "prefLabel", label, "en")


def _distribution(g: Graph, site: Site, f, licence: str) -> None:
    ds = site.dataset
    dist = f"{ds}/distribution/{f.filename}"
    fmt = rdf_format(f.format)
    assert fmt.eu_file_type is not None, f"{fmt.label} has no EU file type"
    code, label = fmt.eu_file_type
    url = site.dump_url(f.filename)
    g.add(ds, DCAT + "distribution", dist)
    g.a(dist, DCAT + "Distribution")
    g.text(dist, DCT + "title", f"Whole dataset as {label}" + (", gzipped" if f.compressed else ""), "en")
    what = (
        "every named graph (one per source file) with its triples"
        if fmt.quads
        else "the triples of all named graphs merged"
    )
    g.text(dist, DCT + "description", f"A dump of {what}, regenerated whenever the data changes.", "en")
    g.url(dist, DCAT + "downloadURL", url)
    g.url(dist, DCAT + "accessURL", url)
    g.add(dist, DCAT + "mediaType", IANA + f.media_type)
    g.a(IANA + f.media_type, DCT + "MediaType")
    g.add(dist, DCT + "format", EU + "file-type/" + code)
    g.concept(EU + "file-type/" + code, EU + "file-type", label, DCT + "MediaTypeOrExtent")
    if f.compressed:
        g.add(dist, DCAT + "compressFormat", IANA + "application/gzip")
        g.a(IANA + "application/gzip", DCT + "MediaType")
    g.typed(dist, DCAT + "byteSize", f.size, XSD + "nonNegativeInteger")
    checksum = dist + "#checksum"
    g.add(dist, SPDX + "checksum", checksum)
    g.a(checksum, SPDX + "Checksum")
    g.add(checksum, SPDX + "algorithm", SHA256)
    g.typed(checksum, SPDX + "checksumValue", f.sha256, XSD + "hexBinary")
    g.a(SHA256, SPDX + "ChecksumAlgorithm")
    g.add(dist, DCT + "license", licence)
