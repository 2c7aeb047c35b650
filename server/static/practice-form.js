// The practice form, made better by script; without it every button still works (server/contribute/editing.py).
// - language tabs for the text fields (all languages are shown one below the other without script);
// - the check as you go: the form is sent to /validate (form=practice) a moment after a field changes, and the
//   messages of the fields already touched are shown beside them, in the page's language;
// - typeahead in the search fields (organisations, regions ...) from /practices/lookup, our own data;
// - "add" and "remove" for the entries of a group without a round trip to the server.
(function () {
  "use strict";
  const form = document.getElementById("practice-form");
  if (!form) return;
  const touched = new Set();
  let submittedOnce = document.querySelector(".field-message.violation") !== null;

  // -- language tabs -------------------------------------------------------------------------------------------
  function setupTabs(root) {
    root.querySelectorAll(".lang-tabs").forEach(function (box) {
      const list = box.querySelector(".tab-list");
      if (!list || box.dataset.ready) return;
      box.dataset.ready = "1";
      list.hidden = false;
      box.classList.add("tabbed");
      const show = function (lang) {
        box.querySelectorAll(".tab").forEach(function (t) {
          t.setAttribute("aria-selected", t.dataset.lang === lang ? "true" : "false");
          t.tabIndex = t.dataset.lang === lang ? 0 : -1;
        });
        box.querySelectorAll(".tab-panel").forEach(function (p) { p.hidden = p.dataset.lang !== lang; });
      };
      list.addEventListener("click", function (e) {
        const tab = e.target.closest(".tab");
        if (tab) { show(tab.dataset.lang); const f = box.querySelector(".tab-panel:not([hidden]) textarea, .tab-panel:not([hidden]) input"); if (f) f.focus(); }
      });
      list.addEventListener("keydown", function (e) {
        if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
        const tabs = Array.from(list.querySelectorAll(".tab"));
        const i = tabs.indexOf(document.activeElement);
        const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        show(next.dataset.lang); next.focus(); e.preventDefault();
      });
      show(box.dataset.active);
    });
  }

  // -- the check as you go -------------------------------------------------------------------------------------
  function fieldName(el) {
    const box = el.closest("[data-field]");
    return box ? box.dataset.field : "";
  }
  function isShown(name) {
    if (submittedOnce || touched.has(name)) return true;
    for (const t of touched) { if (t.startsWith(name + ".")) return true; }  // an entry's own messages
    return false;
  }
  function showMessages(problems) {
    form.querySelectorAll(".field-messages").forEach(function (box) {
      const name = box.dataset.for;
      if (!isShown(name)) return;
      box.textContent = "";
      (problems[name] || []).forEach(function (p) {
        const line = document.createElement("p");
        line.className = "field-message " + p.severity.toLowerCase();
        line.textContent = p.message;
        box.appendChild(line);
      });
      const field = box.closest(".field");
      if (field) field.classList.toggle("has-messages", box.childElementCount > 0);
    });
  }
  let timer = null, running = false, again = false, sending = false;
  const state = form.querySelector(".check-state");
  async function check() {
    if (sending) return;  // the form is on its way: the server checks it now
    if (running) { again = true; return; }
    running = true;
    if (state) state.textContent = form.dataset.checking;
    try {
      const body = new FormData(form);
      body.set("form", "practice");
      const sep = form.dataset.validate.indexOf("?") >= 0 ? "&" : "?";
      const r = await fetch(form.dataset.validate + sep + "lang=" + encodeURIComponent(form.dataset.lang),
                            {method: "POST", body: body, headers: {"Accept": "application/json"}, credentials: "same-origin"});
      if (r.ok) {
        const answer = await r.json();
        showMessages(answer.problems || {});
        if (state) state.textContent = form.dataset.checked;
      } else if (state) { state.textContent = ""; }
    } catch (e) {
      if (state) state.textContent = "";
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(check, 700); }
  form.addEventListener("change", function (e) { touched.add(fieldName(e.target)); schedule(); });
  form.addEventListener("focusout", function (e) {
    if (e.target.matches("input, textarea, select") && e.target.value) { touched.add(fieldName(e.target)); schedule(); }
  });
  form.addEventListener("submit", function (e) {
    const button = e.submitter;
    if (button && button.value && button.value.indexOf("add:") === 0 && addEntry(button)) { e.preventDefault(); return; }
    submittedOnce = true;
    sending = true;
    clearTimeout(timer);
  });

  // -- typeahead -----------------------------------------------------------------------------------------------
  let lookupTimer = null;
  form.addEventListener("input", function (e) {
    const input = e.target;
    if (!input.classList.contains("lookup")) return;
    clearTimeout(lookupTimer);
    lookupTimer = setTimeout(async function () {
      const field = input.name.replace(/\.\d+\./, ".");
      const url = form.dataset.lookup + "?field=" + encodeURIComponent(field) + "&q=" + encodeURIComponent(input.value) +
                  "&lang=" + encodeURIComponent(form.dataset.lang);
      try {
        const r = await fetch(url, {headers: {"Accept": "application/json"}});
        if (!r.ok) return;
        const list = document.getElementById(input.getAttribute("list"));
        if (!list) return;
        list.textContent = "";
        (await r.json()).forEach(function (o) {
          const option = document.createElement("option");
          option.value = o.value;
          option.textContent = o.label;
          list.appendChild(option);
        });
      } catch (err) { /* the datalist the page came with stays */ }
    }, 200);
  });

  // -- entries of groups and repeated values ---------------------------------------------------------------------
  function renumber(entry, from, to) {
    entry.dataset.index = to;
    const swap = function (text) { return text.split("." + from + ".").join("." + to + "."); };
    entry.querySelectorAll("[name], [id], [for], [data-for], [data-field], [aria-describedby], [aria-controls], [aria-labelledby]").forEach(function (el) {
      ["name", "id", "for", "data-for", "data-field", "aria-describedby", "aria-controls", "aria-labelledby"].forEach(function (a) {
        if (el.hasAttribute(a)) el.setAttribute(a, swap(el.getAttribute(a)));
      });
    });
    const legend = entry.querySelector("legend");
    if (legend) legend.textContent = legend.textContent.replace(/\d+\s*$/, String(to + 1));
  }
  function clear(root) {
    root.querySelectorAll("input:not([type=hidden]), textarea").forEach(function (el) {
      if (el.type === "checkbox") el.checked = false; else el.value = "";
    });
    root.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; });
    root.querySelectorAll(".field-messages").forEach(function (el) { el.textContent = ""; });
  }
  function addEntry(button) {
    const name = button.value.slice(4);
    const group = form.querySelector('[data-group="' + name + '"]');
    if (group) {
      const entries = group.querySelectorAll(":scope > .entry");
      const last = entries[entries.length - 1];
      const copy = last.cloneNode(true);
      const index = Number(last.dataset.index);
      renumber(copy, index, index + 1);
      clear(copy);
      copy.querySelectorAll(".lang-tabs").forEach(function (b) { delete b.dataset.ready; });
      group.insertBefore(copy, button);
      setupTabs(copy);
      addRemove(copy);
      const first = copy.querySelector("input, select, textarea");
      if (first) first.focus();
      return true;
    }
    const repeat = form.querySelector('.repeat[data-name="' + name + '"]');
    if (repeat) {
      const items = repeat.querySelectorAll(".repeat-item");
      const copy = items[items.length - 1].cloneNode(true);
      copy.querySelectorAll("[id]").forEach(function (el) { el.id = el.id + "-x" + items.length; });
      clear(copy);
      repeat.insertBefore(copy, button);
      copy.querySelector("input").focus();
      return true;
    }
    return false;
  }
  function addRemove(entry) {
    if (entry.querySelector(".remove-entry")) return;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "remove-entry secondary";
    b.textContent = form.dataset.remove;
    b.addEventListener("click", function () { clear(entry); entry.hidden = true; touched.add(fieldName(entry)); schedule(); });
    entry.appendChild(b);
  }

  setupTabs(form);
  form.querySelectorAll(".entry").forEach(addRemove);
})();
