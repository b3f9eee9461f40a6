/* The annotate page, keyboard first. The page works without this script (a plain form POST); with it:
 * - number keys answer the highlighted question, a/b/t the preference, Enter submits (from anywhere but a
 *   multi-line text box, where Ctrl/Cmd+Enter does), s skips after a few seconds that an Undo toast offers
 *   (undo.js), ? shows help;
 * - the form is sent with fetch(), and a failure keeps every answer on the page and says why;
 * - a draft is kept in localStorage (per project and example) until the server has the answers;
 * - the time the tab was visible is measured and sent as duration_ms. */
(() => {
  "use strict";

  const form = document.getElementById("answer-form");
  const configNode = document.getElementById("annotate-config");
  if (!form || !configNode) return;
  const config = JSON.parse(configNode.textContent);
  const questions = Array.from(form.querySelectorAll(".question"));
  const errorBox = document.getElementById("form-errors");
  const statusBox = document.getElementById("form-status");
  const submitButton = form.querySelector("[data-submit]");
  const skipButton = form.querySelector("[data-skip]");
  const help = document.getElementById("shortcuts");
  const startedAt = form.elements.namedItem("started_at");
  const durationInput = form.elements.namedItem("duration_ms");
  const DRAFT_PREFIX = "winnow:draft:";
  const DRAFT_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
  let active = -1;
  let busy = false;
  let dirty = false;

  /* Time on task: only while the tab is visible. */
  const timer = { elapsed: 0, since: document.visibilityState === "visible" ? performance.now() : null };
  const elapsedMs = () => timer.elapsed + (timer.since === null ? 0 : performance.now() - timer.since);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      if (timer.since !== null) {
        timer.elapsed += performance.now() - timer.since;
        timer.since = null;
      }
      if (dirty) saveDraft();
    } else if (timer.since === null) {
      timer.since = performance.now();
    }
  });

  /* Drafts: every control's state, restored after a reload or a crash. */
  const storage = (() => {
    try {
      const probe = DRAFT_PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null; // private mode or storage disabled: the page still works, without drafts
    }
  })();

  const isAnswerControl = (el) => el.name && el.type !== "hidden" && el.tagName !== "BUTTON" && el.tagName !== "FIELDSET";

  function collect() {
    const fields = {};
    for (const el of form.elements) {
      if (!isAnswerControl(el)) continue;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) continue;
      (fields[el.name] ||= []).push(el.value);
    }
    return fields;
  }

  function apply(fields) {
    for (const el of form.elements) {
      if (!isAnswerControl(el)) continue;
      const values = fields[el.name] || [];
      if (el.type === "radio" || el.type === "checkbox") el.checked = values.includes(el.value);
      else el.value = values.length ? values[0] : "";
    }
  }

  function saveDraft() {
    if (!storage) return;
    const draft = {
      version: 1,
      base: config.draftBase,
      fields: collect(),
      elapsed: elapsedMs(),
      startedAt: startedAt.value,
      savedAt: Date.now(),
    };
    try {
      storage.setItem(config.draftKey, JSON.stringify(draft));
    } catch (error) {
      /* storage full: the answers are still on the page */
    }
  }

  function loadDraft() {
    if (!storage) return null;
    try {
      const draft = JSON.parse(storage.getItem(config.draftKey));
      return draft && draft.version === 1 && draft.base === config.draftBase ? draft : null;
    } catch (error) {
      return null;
    }
  }

  function clearDraft() {
    if (storage) storage.removeItem(config.draftKey);
    dirty = false;
  }

  function pruneOldDrafts() {
    if (!storage) return;
    for (let i = storage.length - 1; i >= 0; i--) {
      const key = storage.key(i);
      if (!key || !key.startsWith(DRAFT_PREFIX) || key === config.draftKey) continue;
      try {
        const draft = JSON.parse(storage.getItem(key));
        if (!draft || Date.now() - draft.savedAt > DRAFT_MAX_AGE_MS) storage.removeItem(key);
      } catch (error) {
        storage.removeItem(key);
      }
    }
  }

  /* Questions: one is active (highlighted); keys act on it. */
  function answered(q) {
    if (q.querySelector("input[type=radio]:checked, input[type=checkbox]:checked")) return true;
    const text = q.querySelector("textarea, input[type=number]");
    if (text) return text.value.trim() !== "";
    return Array.from(q.querySelectorAll("select")).some((s) => s.value !== "");
  }

  function refresh(q) {
    q.classList.toggle("is-answered", answered(q));
    if (q.dataset.kind === "ranking") {
      for (const row of q.querySelectorAll(".ranking__row")) {
        row.classList.toggle("is-ranked", row.querySelector("select").value !== "");
      }
    }
  }

  /* Moving to a question that takes typing puts the cursor in it (Esc leaves it again); on page load it does
   * not, so the number keys work from the start. */
  function activate(index, { focus = true, typeInto = true } = {}) {
    if (index < 0 || index >= questions.length) return;
    active = index;
    questions.forEach((q, i) => q.classList.toggle("is-active", i === index));
    const q = questions[index];
    if (focus) {
      const typed = typeInto ? q.querySelector("textarea, input[type=number]") : null;
      (typed || q).focus({ preventScroll: true });
      q.scrollIntoView({ block: "nearest" });
    }
  }

  const isRequired = (q) => q.querySelector(".question__required") !== null;

  /* After an answer, the next question is highlighted. A required text box takes the cursor; an optional one is
   * only offered (Tab or a click enters it), so that Enter still submits once the choices are made. */
  function advance(from) {
    if (from + 1 < questions.length) activate(from + 1, { typeInto: isRequired(questions[from + 1]) });
    else if (submitButton) submitButton.focus();
  }

  function choose(input) {
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function pickByKey(q, key) {
    const kind = q.dataset.kind;
    const index = questions.indexOf(q);
    if (kind === "ranking") return rankByKey(q, key);
    const input = q.querySelector(`input[data-key="${key}"]`);
    if (!input) return false;
    if (kind === "multi_label") {
      input.checked = !input.checked;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    }
    choose(input);
    advance(index);
    return true;
  }

  function rankByKey(q, key) {
    const row = q.querySelector(`.ranking__row[data-key="${key}"]`);
    if (!row) return false;
    const selects = Array.from(q.querySelectorAll("select"));
    const select = row.querySelector("select");
    if (select.value !== "") return true; // already ranked; Backspace starts over
    const taken = selects.map((s) => s.value).filter((v) => v !== "").length;
    select.value = String(taken + 1);
    select.dispatchEvent(new Event("change", { bubbles: true }));
    if (taken + 1 === selects.length) advance(questions.indexOf(q));
    return true;
  }

  function clearRanking(q) {
    for (const select of q.querySelectorAll("select")) select.value = "";
    q.dispatchEvent(new Event("change", { bubbles: true }));
    refresh(q);
  }

  function preferenceQuestion() {
    const current = questions[active];
    if (current && current.dataset.kind === "preference") return current;
    return questions.find((q) => q.dataset.kind === "preference" && !answered(q))
      || questions.find((q) => q.dataset.kind === "preference");
  }

  /* Messages */
  function setStatus(text, tone = "") {
    statusBox.textContent = text;
    statusBox.className = "form-status" + (tone ? ` form-status--${tone}` : "");
  }

  function clearErrors() {
    errorBox.replaceChildren();
    for (const q of questions) {
      q.classList.remove("has-error");
      const slot = q.querySelector("[data-error]");
      if (slot) slot.textContent = "";
    }
  }

  function fail(message, questionName, next) {
    busy = false;
    if (submitButton) submitButton.disabled = false;
    setStatus("");
    clearErrors();
    const p = document.createElement("p");
    const q = questionName ? questions.find((item) => item.dataset.name === questionName) : null;
    if (q) {
      const link = document.createElement("a");
      link.href = `#${q.id}`;
      link.textContent = questionName;
      p.append(link, ": ", message.replace(`${questionName}: `, ""));
      q.classList.add("has-error");
      q.querySelector("[data-error]").textContent = message.replace(`${questionName}: `, "");
    } else {
      p.textContent = message;
    }
    const kept = document.createElement("p");
    kept.className = "form-errors__kept";
    kept.textContent = "Your answers are still here, and kept in this browser until they are saved.";
    errorBox.append(p, kept);
    if (next) {
      const link = document.createElement("a");
      link.href = next;
      link.textContent = "Get the next example";
      const more = document.createElement("p");
      more.append(link);
      errorBox.append(more);
    }
    if (q) activate(questions.indexOf(q));
    else errorBox.scrollIntoView({ block: "nearest" });
  }

  /* Submitting */
  async function submit() {
    if (busy) return;
    busy = true;
    if (submitButton) submitButton.disabled = true;
    setStatus("Saving…");
    durationInput.value = String(Math.round(elapsedMs()));
    saveDraft();
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (error) {
      fail("Could not reach the server, so nothing was saved. Check your connection and submit again.");
      return;
    }
    let data = null;
    if ((response.headers.get("Content-Type") || "").includes("application/json")) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    if (response.ok && data && data.ok) {
      clearDraft();
      setStatus("Saved. Loading the next example…", "good");
      window.location.assign(data.redirect);
      return;
    }
    if (data && data.error) fail(data.error, data.question, data.next);
    else if (response.ok || response.redirected) fail("You seem to be signed out. Sign in again in another tab, then submit here.");
    else if (response.status === 403) fail("The server refused the request (403). Reload the page and submit again.");
    else fail(`The server could not save your answers (error ${response.status}). Try again in a moment.`);
  }

  form.addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.hasAttribute("data-skip")) {
      clearDraft(); // a plain POST to the skip address
      return;
    }
    event.preventDefault();
    submit();
  });

  form.addEventListener("change", (event) => {
    dirty = true;
    const q = event.target.closest(".question");
    if (q) refresh(q);
    saveDraft();
  });
  form.addEventListener("input", (event) => {
    dirty = true;
    const q = event.target.closest(".question");
    if (q) refresh(q);
    saveDraft();
  });
  form.addEventListener("focusin", (event) => {
    const q = event.target.closest(".question");
    if (q && questions.indexOf(q) !== active) activate(questions.indexOf(q), { focus: false });
  });
  form.addEventListener("click", (event) => {
    const q = event.target.closest(".question");
    if (q && questions.indexOf(q) !== active) activate(questions.indexOf(q), { focus: false });
  });

  /* "Start from the original response" on text questions */
  for (const button of form.querySelectorAll("[data-prefill]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const area = button.closest(".question").querySelector("textarea");
      if (area.value.trim() && area.value !== config.original && !window.confirm("Replace what you wrote with the original response?")) return;
      area.value = config.original || "";
      area.dispatchEvent(new Event("input", { bubbles: true }));
      area.focus();
    });
  }

  /* Help */
  function toggleHelp() {
    if (!help) return;
    if (help.open) help.close();
    else help.showModal();
  }
  for (const button of document.querySelectorAll("[data-help]")) {
    button.hidden = false;
    button.addEventListener("click", toggleHelp);
  }

  /* The guideline remembers whether it was open. */
  const guideline = document.getElementById("guideline");
  if (guideline && storage) {
    if (storage.getItem("winnow:guideline-closed") === "1") guideline.open = false;
    guideline.addEventListener("toggle", () => {
      if (guideline.open) storage.removeItem("winnow:guideline-closed");
      else storage.setItem("winnow:guideline-closed", "1");
    });
  }

  /* Keys */
  const TYPED_INPUTS = new Set(["radio", "checkbox", "button", "submit", "reset"]);
  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && !TYPED_INPUTS.has(el.type);
  }

  /* Skipping by key waits behind an Undo toast; the Skip button (and the page without scripts) skips at once. */
  function skipSoon() {
    if (!window.winnowUndo) {
      clearDraft();
      skipButton.click();
      return;
    }
    window.winnowUndo.hold({
      message: `Skipping ${config.example}`,
      undone: `Not skipped: ${config.example} is still yours.`,
      send: () => {
        setStatus("Skipping…");
        form.requestSubmit(skipButton);
      },
      beacon: () => {
        clearDraft();
        const data = new FormData(form);
        data.append("beacon", "1"); // the page is going: answer without sending it to (and claiming) the next example
        navigator.sendBeacon(skipButton.formAction, data);
      },
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const target = event.target;
    const typing = isTyping(target);
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
      return;
    }
    /* Enter submits from anywhere: a choice, a number, a one-line field, a select. Not in a multi-line text box
     * (a new line; Ctrl/Cmd+Enter submits there), and not on a button, link or summary, which do what they say. */
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
      if (target.tagName === "TEXTAREA" || target.isContentEditable) return;
      if (target.closest && target.closest("a, button, summary, dialog")) return;
      event.preventDefault();
      submit();
      return;
    }
    if (event.key === "Escape") {
      if (typing) {
        event.preventDefault();
        const q = target.closest(".question");
        target.blur();
        if (q) q.focus({ preventScroll: true });
      }
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (help && help.open) return;
    const q = questions[active];
    const key = event.key;
    if (/^[0-9]$/.test(key)) {
      if (q && pickByKey(q, key)) event.preventDefault();
    } else if (key === "j") {
      event.preventDefault();
      activate(Math.min(active + 1, questions.length - 1));
    } else if (key === "k") {
      event.preventDefault();
      activate(Math.max(active - 1, 0));
    } else if (key === "a" || key === "b" || key === "t") {
      const pq = preferenceQuestion();
      const input = pq && pq.querySelector(`input[data-key="${key}"]`);
      if (input) {
        event.preventDefault();
        choose(input);
        advance(questions.indexOf(pq));
      }
    } else if (key === "s") {
      if (skipButton) {
        event.preventDefault();
        skipSoon();
      }
    } else if (key === "Backspace" && q && q.dataset.kind === "ranking") {
      event.preventDefault();
      clearRanking(q);
    }
  });

  /* Start: restore a draft, then highlight the first question still to answer. */
  pruneOldDrafts();
  const draft = loadDraft();
  if (draft && !errorBox.textContent.trim()) {
    apply(draft.fields || {});
    timer.elapsed = Number(draft.elapsed) || 0;
    if (draft.startedAt) startedAt.value = draft.startedAt;
    dirty = true;
    setStatus("Restored the answers you had not submitted yet (kept in this browser).");
  }
  questions.forEach(refresh);
  if (questions.length) {
    const firstError = questions.findIndex((q) => q.classList.contains("has-error"));
    const firstOpen = questions.findIndex((q) => !answered(q) && q.querySelector(".question__required"));
    activate(firstError >= 0 ? firstError : Math.max(firstOpen, 0), { typeInto: false });
  }
})();
