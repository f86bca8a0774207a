// Glossa's search page: plain JavaScript, no framework, no build step. Every data call goes
// through the API's gate; with auth on, the key the person enters is kept in sessionStorage
// (this tab only) and sent as `Authorization: Bearer`, never in a URL.
"use strict";

const KEY_STORAGE = "glossa.apiKey";
const PAGE_SIZE = 10;
const DEBOUNCE_MS = 250;
const OPERATOR_REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);

const languageNames = (() => {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" });
  } catch (_) {
    return null;
  }
})();

function languageName(code) {
  if (!code) return "undetermined";
  try {
    const name = languageNames && languageNames.of(code);
    return name && name !== code ? name : code;
  } catch (_) {
    return code;
  }
}

function percent(value) {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "–";
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || name === "dir" || name === "lang" || name === "href" || name === "type" || name === "id" || name === "for") node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// ---- API calls -------------------------------------------------------------------------

class KeyNeeded extends Error {}

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

async function api(path, signal) {
  const headers = { Accept: "application/json" };
  const key = storedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(path, { headers, signal, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  const message = body && body.error && body.error.message;
  if (response.status === 401) {
    if (key) sessionStorage.removeItem(KEY_STORAGE);
    showKeyView(key ? `The key was refused: ${message || "not valid"}. Enter another.` : null);
    throw new KeyNeeded(message || "an API key is needed");
  }
  if (!response.ok) {
    const error = new Error(message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- Views -----------------------------------------------------------------------------

const views = ["key-view", "search-view", "doc-view", "operator-view"];
let keyWanted = false;

function show(view) {
  for (const name of views) $(name).hidden = name !== view;
  const current = (link, on) => (on ? link.setAttribute("aria-current", "page") : link.removeAttribute("aria-current"));
  current($("nav-search"), view === "search-view" || view === "doc-view");
  current($("nav-operator"), view === "operator-view");
  $("forget-key").hidden = !storedKey();
}

function showKeyView(reason) {
  keyWanted = true;
  stopOperatorRefresh();
  if (reason) $("key-reason").textContent = reason;
  show("key-view");
  $("key-input").value = "";
  $("key-input").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("key-input").value = "";
  keyWanted = false;
  start();
});

$("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  location.hash = "#search";
  location.reload();
});

// ---- Search ----------------------------------------------------------------------------

const search = {
  lang: "", // the query language override ("" = detect)
  langFilter: "", // the document language facet chosen
  cursors: [null], // the cursor of each page read so far
  page: 0,
  next: null,
  controller: null,
  options: null,
  answer: null,
};

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function filterParams(params) {
  for (const input of $("filters").querySelectorAll("[data-field]")) {
    const value = input.value.trim();
    if (!value) continue;
    let sent = value;
    if (input.dataset.kind === "date") sent = input.dataset.op === "lte" ? `${value}T23:59:59Z` : `${value}T00:00:00Z`;
    const name = input.dataset.op ? `filter.${input.dataset.field}.${input.dataset.op}` : `filter.${input.dataset.field}`;
    params.append(name, sent);
  }
  if (search.langFilter) params.append("filter.lang", search.langFilter);
}

function newSearch() {
  search.cursors = [null];
  search.page = 0;
  runSearch();
}

async function runSearch() {
  const q = $("q").value.trim();
  if (search.controller) search.controller.abort();
  if (!q) {
    $("results").replaceChildren();
    $("facets").replaceChildren();
    $("count").textContent = "";
    $("detected").textContent = "";
    $("error").hidden = true;
    updatePager();
    return;
  }
  const controller = new AbortController();
  search.controller = controller;
  // The page shows the count per language and the exact total: both need `facets`.
  const params = new URLSearchParams({ q, size: String(PAGE_SIZE), facets: "true" });
  if (search.lang) params.set("lang", search.lang);
  filterParams(params);
  const cursor = search.cursors[search.page];
  if (cursor) params.set("cursor", cursor);
  try {
    const answer = await api(`/v1/search?${params}`, controller.signal);
    if (controller.signal.aborted) return;
    $("error").hidden = true;
    search.answer = answer;
    search.next = answer.next_cursor || null;
    renderAnswer(answer, q);
  } catch (error) {
    if (error.name === "AbortError" || error instanceof KeyNeeded) return;
    $("error").textContent = error.status === 410 ? "The results changed since the first page; showing the first page again." : `Search failed: ${error.message}`;
    $("error").hidden = false;
    if (error.status === 410 && search.page > 0) newSearch();
  }
}

function renderAnswer(answer, q) {
  const shown = answer.hits.length;
  const first = search.page * PAGE_SIZE + (shown ? 1 : 0);
  const last = search.page * PAGE_SIZE + shown;
  $("count").textContent = answer.total === 0
    ? "No results"
    : `${answer.total} result${answer.total === 1 ? "" : "s"}, showing ${first}–${last}`;
  renderQueryLanguage(answer.query_language, answer.languages);
  renderFacets(answer.languages);
  renderHits(answer.hits);
  // What the list shows, for tests and assistive tools: the query and page it answers.
  $("results").dataset.query = q;
  $("results").dataset.page = String(search.page + 1);
  updatePager();
}

function renderQueryLanguage(ql, facets) {
  const detected = $("detected");
  detected.replaceChildren();
  if (ql) {
    const how = ql.chosen_by === "given" ? "chosen" : ql.chosen_by || "detected";
    detected.append(
      el("span", { id: "query-lang", "data-lang": ql.lang || "", text: `Query language: ${languageName(ql.lang)} (${how}, ${percent(ql.confidence)})` }),
    );
    const alternatives = (ql.alternatives || []).filter(([code]) => code && code !== ql.lang).slice(0, 4);
    if (alternatives.length) {
      detected.append(" · alternatives: ");
      for (const [code, confidence] of alternatives) {
        detected.append(
          el("button", {
            type: "button",
            className: "alternative",
            "data-lang": code,
            "aria-label": `Search as ${languageName(code)} instead`,
            text: `${code} ${percent(confidence)}`,
            onclick: () => setQueryLanguage(code),
          }),
          " ",
        );
      }
    }
  }
  const select = $("lang-select");
  const known = new Set([search.lang]);
  if (ql) {
    known.add(ql.lang);
    for (const [code] of ql.alternatives || []) known.add(code);
  }
  for (const code of Object.keys(facets || {})) known.add(code);
  for (const option of select.options) known.delete(option.value);
  for (const code of [...known].filter((code) => code && code !== "und").sort()) {
    select.append(el("option", { value: code, text: `${languageName(code)} (${code})` }));
  }
  select.value = search.lang;
}

function setQueryLanguage(code) {
  search.lang = code;
  $("lang-select").value = code;
  newSearch();
}

$("lang-select").addEventListener("change", () => setQueryLanguage($("lang-select").value));

function renderFacets(languages) {
  const list = $("facets");
  list.replaceChildren();
  const entries = Object.entries(languages || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [code, count] of entries) {
    const pressed = search.langFilter === code;
    list.append(
      el("li", {},
        el("button", {
          type: "button",
          "data-lang": code,
          "aria-pressed": String(pressed),
          "aria-label": `${languageName(code)}: ${count} result${count === 1 ? "" : "s"}${pressed ? " (shown alone; click to show all)" : ""}`,
          onclick: () => {
            search.langFilter = pressed ? "" : code;
            newSearch();
          },
        },
        el("span", { text: `${languageName(code)} (${code})` }),
        el("span", { className: "facet-count", text: String(count) })),
      ),
    );
  }
  if (search.langFilter && !entries.length) {
    list.append(el("li", {}, el("button", { type: "button", "aria-pressed": "true", text: `Show all languages (now ${search.langFilter})`, onclick: () => { search.langFilter = ""; newSearch(); } })));
  }
}

// Highlights are HTML with matches in <b>; only their text and the <b> marks are kept.
function appendHighlighted(parent, html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  for (const node of parsed.body.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) parent.append(node.textContent);
    else if (node.nodeName === "B") parent.append(el("mark", { text: node.textContent }));
    else parent.append(node.textContent || "");
  }
}

function textOf(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === "string").join(" ");
  return "";
}

function renderHits(hits) {
  const list = $("results");
  list.replaceChildren();
  const textFields = (search.options && search.options.text_fields) || ["title", "body"];
  for (const hit of hits) {
    const source = hit.source || {};
    const titleField = textFields.find((field) => textOf(source[field]));
    const title = textOf(source.title) || hit.id;
    const snippet = el("span", { className: "hit-snippet", dir: "auto", lang: hit.lang || undefined });
    const highlights = hit.highlights || {};
    const highlightField = ["body", ...textFields].find((field) => highlights[field]) || Object.keys(highlights)[0];
    if (highlightField) appendHighlighted(snippet, highlights[highlightField]);
    else {
      const body = textFields.map((field) => textOf(source[field])).find((text) => text && text !== title) || textOf(source[titleField]);
      snippet.textContent = body.length > 240 ? `${body.slice(0, 240)}…` : body;
    }
    const link = el("a", { href: `#doc/${encodeURIComponent(hit.id)}`, className: "result", "data-id": hit.id, "data-lang": hit.lang || "" },
      el("span", { className: "hit-title", dir: "auto", lang: hit.lang || undefined, text: title }),
      el("span", { className: "hit-meta", text: `${languageName(hit.lang)} (${hit.lang || "und"}) · ${hit.id}` }),
      snippet,
    );
    list.append(el("li", {}, link));
  }
}

function updatePager() {
  $("prev").disabled = search.page === 0;
  $("next").disabled = !search.next || !$("q").value.trim();
  $("page-number").textContent = $("q").value.trim() ? `Page ${search.page + 1}` : "";
}

$("next").addEventListener("click", () => {
  if (!search.next) return;
  search.cursors[search.page + 1] = search.next;
  search.page += 1;
  runSearch();
});

$("prev").addEventListener("click", () => {
  if (search.page === 0) return;
  search.page -= 1;
  runSearch();
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  newSearch();
});
$("filters").addEventListener("submit", (event) => event.preventDefault());

const debouncedSearch = debounce(newSearch, DEBOUNCE_MS);
$("q").addEventListener("input", debouncedSearch);
$("filters").addEventListener("input", debouncedSearch);

// Arrow keys move between results; from the search box, Down enters the list.
function resultLinks() {
  return [...$("results").querySelectorAll("a.result")];
}

$("q").addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" && resultLinks().length) {
    event.preventDefault();
    resultLinks()[0].focus();
  }
});

$("results").addEventListener("keydown", (event) => {
  const links = resultLinks();
  const at = links.indexOf(document.activeElement);
  if (at < 0) return;
  if (event.key === "ArrowDown" && at + 1 < links.length) {
    event.preventDefault();
    links[at + 1].focus();
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    if (at === 0) $("q").focus();
    else links[at - 1].focus();
  }
});

function buildFilters(options) {
  const form = $("filters");
  form.replaceChildren();
  const fields = Object.entries((options && options.filters) || {});
  if (!fields.length) {
    form.append(el("p", { className: "hint", text: "No filterable metadata fields are declared (opensearch.metadata_fields)." }));
    return;
  }
  for (const [field, kind] of fields) {
    const set = el("fieldset", {}, el("legend", { text: field }));
    const input = (op, label, type) => {
      const id = `filter-${field}-${op || "eq"}`;
      set.append(
        el("label", { for: id, text: label }),
        el("input", { id, type, "data-field": field, "data-op": op || undefined, "data-kind": kind, step: type === "number" && kind === "double" ? "any" : undefined }),
      );
    };
    if (kind === "long" || kind === "double") {
      input("gte", "from", "number");
      input("lte", "to", "number");
    } else if (kind === "date") {
      input("gte", "from", "date");
      input("lte", "to", "date");
    } else if (kind === "boolean") {
      const id = `filter-${field}-eq`;
      set.append(
        el("label", { for: id, text: "is" }),
        el("select", { id, "data-field": field, "data-kind": kind },
          el("option", { value: "", text: "any" }),
          el("option", { value: "true", text: "true" }),
          el("option", { value: "false", text: "false" })),
      );
    } else {
      input("", "equals", "text");
    }
    form.append(set);
  }
}

// ---- Document view ---------------------------------------------------------------------

let lastOpened = null;

async function openDocument(id) {
  show("doc-view");
  lastOpened = id;
  for (const name of ["doc-title", "doc-id", "doc-lang", "doc-confidence", "doc-method", "doc-ingested", "doc-source"]) $(name).textContent = "";
  $("doc-title").textContent = "Loading…";
  try {
    const doc = await api(`/v1/documents/${encodeURIComponent(id)}`);
    const source = doc.source || {};
    const lang = doc.lang || "";
    $("doc-title").textContent = textOf(source.title) || doc.id;
    $("doc-title").lang = lang;
    $("doc-id").textContent = doc.id;
    $("doc-lang").textContent = `${languageName(lang)} (${lang || "und"})`;
    $("doc-lang").dataset.lang = lang;
    $("doc-confidence").textContent = typeof doc.lang_confidence === "number" ? `${doc.lang_confidence.toFixed(2)} (${percent(doc.lang_confidence)})` : "–";
    $("doc-method").textContent = doc.lang_method || "–";
    $("doc-ingested").textContent = doc.ingested_at || "–";
    $("doc-source").textContent = JSON.stringify(source, null, 2);
    $("doc-source").lang = lang;
  } catch (error) {
    if (error instanceof KeyNeeded) return;
    $("doc-title").textContent = error.status === 404 ? "This document is no longer in the index." : `Cannot read the document: ${error.message}`;
  }
  $("doc-title").tabIndex = -1;
  $("doc-title").focus();
}

$("doc-back").addEventListener("click", () => {
  location.hash = "#search";
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("doc-view").hidden) location.hash = "#search";
});

// ---- Operator view ---------------------------------------------------------------------

let operatorTimer = null;

function stopOperatorRefresh() {
  clearInterval(operatorTimer);
  operatorTimer = null;
}

function rows(table, data, empty) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren();
  for (const cells of data) body.append(el("tr", {}, ...cells.map((cell) => el("td", { text: String(cell) }))));
  if (!data.length && empty) {
    const cell = el("td", { className: "empty", text: empty });
    cell.colSpan = $(table).querySelectorAll("thead th").length;
    body.append(el("tr", {}, cell));
  }
}

async function refreshOperator() {
  try {
    const answer = await api("/v1/operator?letters=20");
    $("op-status").textContent = `Backend: ${answer.backend}. Updated ${new Date().toLocaleTimeString()}.`;
    $("op-documents").textContent = String(answer.documents);
    const languages = Object.entries(answer.languages || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    $("op-language-count").textContent = `in ${languages.length} language${languages.length === 1 ? "" : "s"}`;
    rows("op-languages", languages.map(([code, n]) => [`${languageName(code)} (${code})`, n]), "No documents yet");
    const ingest = answer.ingest || {};
    $("op-rate").textContent = ingest.indexed_per_second == null ? "measuring…" : `${ingest.indexed_per_second} (over ${ingest.rate_window_seconds} s)`;
    $("op-in").textContent = String(ingest.records_in ?? "–");
    $("op-indexed").textContent = String(ingest.records_indexed ?? "–");
    $("op-rejected").textContent = String(ingest.records_rejected ?? "–");
    const dead = answer.dead_letters || {};
    const summary = dead.summary;
    $("op-dead-total").textContent = summary ? String(summary.total) : "–";
    $("op-dead-note").textContent = dead.note || dead.error || (summary ? `queue: ${dead.target}` : "");
    rows("op-reasons", summary ? Object.entries(summary.by_reason) : [], "No dead letters");
    rows("op-letters", summary ? summary.latest.map((l) => [l.time, l.reason, `${l.position.source}:${l.position.line}`, l.message]) : [], "No dead letters");
    const reindex = answer.reindex || {};
    rows("op-jobs", (reindex.jobs || []).map((j) => [`${j.source} → ${j.target}`, j.phase, `${j.copied} of ${j.total}${j.failed ? ` (${j.failed} failed)` : ""}`, j.updated_at]), reindex.error ? `Cannot read the jobs: ${reindex.error}` : "No reindex jobs");
  } catch (error) {
    if (error instanceof KeyNeeded) return;
    $("op-status").textContent = error.status === 403 ? `This key cannot read the operator view: ${error.message}` : `Cannot read the operator view: ${error.message}`;
  }
}

// ---- Routing ---------------------------------------------------------------------------

function route() {
  if (keyWanted) return;
  const hash = location.hash;
  stopOperatorRefresh();
  if (hash === "#operator") {
    show("operator-view");
    refreshOperator();
    operatorTimer = setInterval(refreshOperator, OPERATOR_REFRESH_MS);
  } else if (hash.startsWith("#doc/")) {
    let id = "";
    try {
      id = decodeURIComponent(hash.slice(5));
    } catch (_) {
      id = "";
    }
    if (id) openDocument(id);
    else show("search-view");
  } else {
    show("search-view");
    const back = lastOpened && resultLinks().find((link) => link.dataset.id === lastOpened);
    if (back) back.focus();
    else $("q").focus();
    lastOpened = null;
  }
}

window.addEventListener("hashchange", route);

async function start() {
  try {
    search.options = await api("/v1/search/options");
  } catch (error) {
    if (error instanceof KeyNeeded) return;
    search.options = null;
    $("error").textContent = error.status === 403 ? `This key cannot search: ${error.message}` : `Cannot reach the server: ${error.message}`;
    $("error").hidden = false;
  }
  buildFilters(search.options);
  const select = $("lang-select");
  const supported = ((search.options && search.options.languages) || []).filter((code) => ![...select.options].some((o) => o.value === code));
  supported.sort((a, b) => languageName(a).localeCompare(languageName(b)));
  for (const code of supported) select.append(el("option", { value: code, text: `${languageName(code)} (${code})` }));
  route();
  if ($("q").value.trim()) newSearch();
}

start();
