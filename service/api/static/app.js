// Vraagbaak chat page: streams answers from POST /v1/ask/stream (fetch + ReadableStream SSE parsing),
// shows citations as numbers that open the quote, report title and page, and keeps the conversation
// (the last 20 turns go along as history). No build step, no dependencies.
"use strict";

(() => {
  const MAX_TURNS = 20;
  const KEY_STORAGE = "vraagbaak-api-key";
  const $ = (selector, root = document) => root.querySelector(selector);
  const log = $("#log");
  const form = $("#ask");
  const input = $("#question");
  const sendButton = $("#send");
  let history = [];
  let messageCount = 0;

  const MESSAGES = {
    network: "Er is geen verbinding met de vraagbaak. Controleer de verbinding en probeer het opnieuw.",
    not_ready: "De vraagbaak is nog aan het opstarten. Probeer het over een halve minuut opnieuw.",
    overloaded: "Het is op dit moment erg druk. Probeer het over {s} seconden opnieuw.",
    generator: "Het taalmodel gaf een fout. Probeer het later opnieuw.",
    generator_timeout: "Het taalmodel reageerde niet op tijd. Probeer het opnieuw, liefst met een kortere vraag.",
    unauthorized: "Deze vraagbaak vraagt om een API-sleutel. Vul de sleutel hieronder in en stel de vraag opnieuw.",
    too_large: "De vraag of het gesprek is te lang. Begin een nieuw gesprek of stel een kortere vraag.",
    fallback: "Er ging iets mis. Probeer het opnieuw.",
  };
  const TYPE_BY_STATUS = { 401: "unauthorized", 413: "too_large", 429: "overloaded", 502: "generator",
                           503: "not_ready", 504: "generator_timeout" };

  function friendly(type, serverMessage, retryAfter) {
    if ((type === "validation" || type === "bad_request") && serverMessage) return serverMessage;
    const text = MESSAGES[type] || MESSAGES.fallback;
    return text.replace("{s}", retryAfter || "enkele");
  }

  function headers() {
    const h = { "Content-Type": "application/json", Accept: "text/event-stream" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  }

  // --- Server-Sent Events over fetch ---------------------------------------------------------------
  function parseBlock(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
  }

  async function* sseEvents(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
  }

  // --- Rendering -----------------------------------------------------------------------------------
  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  function addUser(question) {
    const li = $("#tpl-user").content.firstElementChild.cloneNode(true);
    $(".text", li).textContent = question;
    log.append(li);
  }

  function addAssistant() {
    const li = $("#tpl-assistant").content.firstElementChild.cloneNode(true);
    li.id = `msg-${++messageCount}`;
    log.append(li);
    li.scrollIntoView({ block: "end" });
    return { li, status: $(".status", li), text: $(".text", li), sources: $(".sources", li),
             candidates: $(".candidates", li), rate: $(".rate", li) };
  }

  function where(c) {
    return [c.page != null ? `pagina ${c.page}` : "", c.section || ""].filter(Boolean).join(" · ");
  }

  function showCandidates(view, hits) {
    view.status.textContent = hits.length ? `${hits.length} passages gevonden; antwoord wordt geschreven…`
                                          : "Geen passages gevonden.";
    const list = $("ol", view.candidates);
    list.replaceChildren(...hits.map((h) => el("li", {}, `${h.title}${h.page != null ? `, p. ${h.page}` : ""}`)));
    view.candidates.hidden = hits.length === 0;
  }

  function citeButton(view, citation) {
    const button = el("button", { type: "button", class: "cite", "aria-expanded": "false",
                                  "aria-controls": `${view.li.id}-src-${citation.n}`,
                                  "aria-label": `Bron ${citation.n}: ${citation.title}` }, String(citation.n));
    button.addEventListener("click", () => toggleSource(view, citation));
    return button;
  }

  function sourcePanel(view, c) {
    const panel = el("section", { class: "source", id: `${view.li.id}-src-${c.n}`, tabindex: "-1" });
    panel.append(el("h4", {}, `[${c.n}] ${c.title}`), el("p", { class: "meta" }, where(c)),
                 el("blockquote", {}, `“${c.quote || c.text}”`));
    const details = el("details");
    details.append(el("summary", {}, "Hele passage"), el("p", {}, c.text));
    panel.append(details);
    return panel;
  }

  function toggleSource(view, citation) {
    const id = `${view.li.id}-src-${citation.n}`;
    const open = document.getElementById(id);
    view.sources.querySelectorAll(".source").forEach((panel) => panel.remove());
    view.li.querySelectorAll(".cite").forEach((b) => b.setAttribute("aria-expanded", "false"));
    if (open) return;
    view.sources.append(sourcePanel(view, citation));
    view.li.querySelectorAll(`.cite[aria-controls="${id}"]`).forEach((b) => b.setAttribute("aria-expanded", "true"));
  }

  // "... tekst [1] en [2, 3]." -> text nodes and citation buttons (unknown numbers stay text).
  function renderAnswer(view, answer, citations) {
    const byNumber = new Map(citations.map((c) => [c.n, c]));
    const nodes = [];
    let last = 0;
    for (const match of answer.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
      const numbers = match[1].split(",").map((n) => Number(n.trim()));
      if (!numbers.every((n) => byNumber.has(n))) continue;
      nodes.push(document.createTextNode(answer.slice(last, match.index)));
      numbers.forEach((n) => nodes.push(citeButton(view, byNumber.get(n))));
      last = match.index + match[0].length;
    }
    nodes.push(document.createTextNode(answer.slice(last)));
    view.text.replaceChildren(...nodes);
  }

  function showAnswer(view, data) {
    const citations = data.citations || [];
    renderAnswer(view, data.answer, citations);
    view.li.classList.toggle("refused", Boolean(data.refused));
    view.status.textContent = data.refused ? "Hierover staat niets in de rapporten." : "";
    if (citations.length) {
      const list = el("p", { class: "srclist" }, "Bronnen: ");
      citations.forEach((c, i) => {
        if (i) list.append("; ");
        list.append(citeButton(view, c), ` ${c.title}${c.page != null ? `, p. ${c.page}` : ""}`);
      });
      view.sources.replaceChildren(list);
    }
  }

  // --- Feedback: 👍/👎 under an answer, sent with what was shown (POST /v1/feedback) ---------------
  function offerRating(view, question, earlier, data) {
    const status = $(".rate-status", view.rate);
    const citations = (data.citations || []).map(({ n, doc_id, title, page, section, quote }) =>
      ({ n, doc_id, title, page, section, quote }));
    view.rate.querySelectorAll(".rate-btn").forEach((button) => {
      button.addEventListener("click", async () => {
        const rating = button.dataset.rating;
        const body = { rating, question, answer: data.answer, citations, mode: data.mode,
                       refused: Boolean(data.refused), history: earlier };
        status.textContent = "Opslaan…";
        try {
          const response = await fetch("/v1/feedback", { method: "POST", headers: headers(), body: JSON.stringify(body) });
          if (!response.ok) throw new Error(String(response.status));
          view.rate.querySelectorAll(".rate-btn").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
          status.textContent = "Bedankt voor je feedback!";
        } catch (err) {
          status.textContent = "Opslaan van je feedback lukte niet. Probeer het opnieuw.";
        }
      });
    });
    view.rate.hidden = false;
  }

  function showError(view, message, type) {
    view.li.classList.add("error");
    view.status.textContent = message;
    if (type === "unauthorized") { $("#keybox").hidden = false; $("#apikey").focus(); }
  }

  // --- Asking --------------------------------------------------------------------------------------
  async function failure(view, response) {
    const body = await response.json().catch(() => ({}));
    const type = body.error_type || TYPE_BY_STATUS[response.status] || "fallback";
    showError(view, friendly(type, body.error, response.headers.get("Retry-After")), type);
  }

  async function readStream(view, question, response) {
    let text = "";
    for await (const { event, data } of sseEvents(response)) {
      if (event === "sources") showCandidates(view, data.hits || []);
      else if (event === "token") {
        text += data.text ?? "";
        view.text.textContent = text;
      } else if (event === "done") {
        showAnswer(view, data);
        offerRating(view, question, history.slice(-MAX_TURNS), data);
        history.push({ role: "user", content: question }, { role: "assistant", content: data.answer });
        history = history.slice(-MAX_TURNS);
        return;
      } else if (event === "error") {
        showError(view, friendly(data.error_type, data.error), data.error_type);
        return;
      }
    }
    showError(view, MESSAGES.network);
  }

  async function ask(question) {
    addUser(question);
    const view = addAssistant();
    sendButton.disabled = true;
    try {
      const response = await fetch("/v1/ask/stream", { method: "POST", headers: headers(),
        body: JSON.stringify({ question, history: history.slice(-MAX_TURNS) }) });
      if (!response.ok) await failure(view, response);
      else await readStream(view, question, response);
    } catch (err) {
      showError(view, MESSAGES.network);
    } finally {
      view.li.setAttribute("aria-busy", "false");
      sendButton.disabled = false;
      view.li.scrollIntoView({ block: "end" });
    }
  }

  async function showDocuments() {
    try {
      const response = await fetch("/v1/documents", { headers: headers() });
      if (!response.ok) return;
      const { documents } = await response.json();
      const names = documents.map((d) => `${d.title}${d.year ? ` (${d.year})` : ""}`);
      $("#documents").textContent = `Doorzoekt ${documents.length} rapporten: ${names.join("; ")}.`;
      $("#documents").hidden = false;
    } catch (err) { /* the page works without the list */ }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || sendButton.disabled) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("#apikey").addEventListener("change", (event) => {
    sessionStorage.setItem(KEY_STORAGE, event.target.value.trim());
    showDocuments();
  });
  $("#reset").addEventListener("click", () => {
    history = [];
    log.replaceChildren();
    input.focus();
  });
  showDocuments();
})();
