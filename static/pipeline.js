// The pipeline builder (templates/curation/version_new.html): each step as a small form, built from the options
// the page publishes (pipeline-data: the filter catalog, the clean rules, PII entities, dedup methods and presets,
// the versions to decontaminate against). The steps live in the form's "Steps as JSON" textarea, which is what the
// server reads: this script keeps it up to date as the forms change, and rebuilds the forms when the JSON is
// edited by hand. Without the script, the textarea alone works.
(function () {
  "use strict";

  var source = document.getElementById("pipeline-data");
  var root = document.getElementById("pipeline-builder");
  var form = document.getElementById("pipeline-form");
  var textarea = document.getElementById("id_steps");
  if (!source || !root || !form || !textarea) return;

  var data = JSON.parse(source.textContent);
  var catalog = {};
  data.catalog.forEach(function (rule) { catalog[rule.name] = rule; });
  var error = data.error; // {step, option, message, where} from the server, shown beside its step
  var DRY_RUN_MAX = 10000;
  var LIST_AS_CHECKBOXES = 12; // a longer list of choices (languages) is typed, comma separated

  var OPS = [
    { value: "clean", label: "Clean text", make: function () { return { op: "clean", rules: ["fix_unicode", "strip_special_tokens", "normalize_whitespace"] }; } },
    { value: "dedup-exact", label: "Remove exact duplicates", make: function () { return { op: "dedup", method: "exact" }; } },
    { value: "dedup-strict", label: "Remove near-duplicates (MinHash, strict)", make: function () { return { op: "dedup", method: "minhash", preset: "strict" }; } },
    { value: "dedup-fuzzy", label: "Remove near-duplicates (MinHash, fuzzy)", make: function () { return { op: "dedup", method: "minhash", preset: "fuzzy" }; } },
    { value: "filter", label: "Filter by rules", make: function () { return { op: "filter", rules: [] }; } },
    { value: "pii", label: "Redact or drop personal data (PII)", make: function () { return { op: "pii", action: "redact" }; } },
    { value: "decontaminate", label: "Decontaminate against an evaluation set", make: function () {
      var step = { op: "decontaminate" };
      if (data.versions.length) step.against = data.versions[0].id;
      return step;
    } }
  ];
  var TITLES = { clean: "Clean", dedup: "Dedup", filter: "Filter", pii: "PII", decontaminate: "Decontaminate" };
  var KIND_GROUPS = [["record", "Text, quality and metadata"], ["group", "Comparing records"], ["labels", "Annotators' labels"]];

  // --- state and the textarea ------------------------------------------------------------------------------

  function parse(text) {
    try {
      var value = JSON.parse(text.trim() || "[]");
      return Array.isArray(value) ? value : null;
    } catch (e) {
      return null;
    }
  }

  var steps = parse(textarea.value);
  var status = document.getElementById("steps-json-status");
  var details = document.getElementById("steps-json");

  function save() {
    textarea.value = JSON.stringify(steps, null, 2);
    if (status) status.textContent = "";
  }

  // --- small DOM helpers -----------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "hidden" || name === "checked" || name === "disabled" || name === "selected" || name === "required") node[name] = true;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function help(id, text) {
    return text ? el("p", { "class": "field__help", id: id, text: text }) : null;
  }

  function optionPath(rule, key) {
    return rule === null ? key : "rules[" + rule + "]." + key;
  }

  function controlAttrs(step, rule, key, type, id, helpId) {
    return {
      id: id,
      "data-step": step,
      "data-rule": rule === null ? null : rule,
      "data-key": key,
      "data-type": type,
      "data-option": optionPath(rule, key),
      "aria-describedby": helpId
    };
  }

  // A labelled control: select, number, text or textarea.
  function field(step, rule, key, spec) {
    var id = "s" + step + (rule === null ? "" : "-r" + rule) + "-" + key;
    var helpId = spec.help ? id + "-help" : null;
    var attrs = controlAttrs(step, rule, key, spec.type, id, helpId);
    var control;
    if (spec.choices) {
      control = el("select", attrs, spec.choices.map(function (choice) {
        return el("option", { value: choice.value, selected: String(choice.value) === String(spec.value), text: choice.label });
      }));
    } else if (spec.lines) {
      attrs.rows = 3;
      control = el("textarea", attrs);
      control.value = spec.value;
    } else {
      attrs.type = spec.number ? "number" : "text";
      attrs.inputmode = spec.number ? "decimal" : null;
      attrs.min = spec.min;
      attrs.max = spec.max;
      attrs.step = spec.number ? (spec.integer ? "1" : "any") : null;
      attrs.placeholder = spec.placeholder;
      control = el("input", attrs);
      control.value = spec.value === undefined || spec.value === null ? "" : spec.value;
    }
    if (spec.required) control.setAttribute("aria-required", "true");
    var label = el("label", { "for": id }, [spec.label, spec.required ? el("span", { "class": "muted small", text: " (required)" }) : null]);
    return el("div", { "class": "field" }, [label, control, help(helpId, spec.help)]);
  }

  // A group of checkboxes, one per choice, for a list option.
  function checks(step, rule, key, legend, choices, chosen, note) {
    var base = "s" + step + (rule === null ? "" : "-r" + rule) + "-" + key;
    var noteId = note ? base + "-help" : null;
    var group = el("fieldset", { "class": "checks", "data-option": optionPath(rule, key), "aria-describedby": noteId }, [el("legend", { text: legend })]);
    var list = el("div", { "class": "checks__list" });
    choices.forEach(function (choice, index) {
      var id = base + "-" + index;
      var helpId = choice.help ? id + "-help" : null;
      var box = el("input", {
        type: "checkbox", id: id, value: choice.value, checked: chosen.indexOf(choice.value) >= 0,
        "data-step": step, "data-rule": rule === null ? null : rule, "data-key": key, "data-type": "checks",
        "aria-describedby": helpId
      });
      list.appendChild(el("div", { "class": "check" }, [box, el("div", {}, [el("label", { "for": id, text: choice.label }), help(helpId, choice.help)])]));
    });
    group.appendChild(list);
    if (note) group.appendChild(help(noteId, note));
    return group;
  }

  function button(text, attrs) {
    var node = el("button", Object.assign({ type: "button", "class": "button button--secondary button--small" }, attrs || {}));
    node.textContent = text;
    return node;
  }

  // --- values ------------------------------------------------------------------------------------------------

  function scalar(text) {
    var trimmed = text.trim();
    if (trimmed === "") return undefined;
    try {
      var value = JSON.parse(trimmed);
      if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
    } catch (e) { /* plain text */ }
    return trimmed;
  }

  function lines(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(function (line) { return line !== ""; });
  }

  function shown(value, type) {
    if (value === undefined || value === null) return "";
    if (Array.isArray(value)) {
      if (type === "strings" || type === "scalars") return value.map(function (item) { return typeof item === "string" ? item : JSON.stringify(item); }).join("\n");
      return value.join(", ");
    }
    if (type === "any" || type === "scalar") return typeof value === "string" ? value : JSON.stringify(value);
    return String(value);
  }

  // The value a control holds, as the step's JSON takes it; undefined leaves the option out (its default).
  function valueOf(control) {
    var type = control.getAttribute("data-type");
    var text = control.value;
    if (type === "checks") return undefined; // read as a group, see groupValue
    if (type === "bool") return control.value === "true";
    if (type === "int" || type === "number") {
      if (text.trim() === "") return undefined;
      var number = Number(text);
      return isNaN(number) ? text : number;
    }
    if (type === "strings") { var items = lines(text); return items.length ? items : undefined; }
    if (type === "scalars") { var values = lines(text).map(scalar); return values.length ? values : undefined; }
    if (type === "numbers") {
      var numbers = text.split(/[,\s]+/).filter(Boolean).map(function (item) { var n = Number(item); return isNaN(n) ? item : n; });
      return numbers.length ? numbers : undefined;
    }
    if (type === "choices") { var codes = text.split(/[,\s]+/).filter(Boolean); return codes.length ? codes : undefined; }
    if (type === "scalar" || type === "any") {
      if (text.trim() === "") return undefined;
      try { return JSON.parse(text); } catch (e) { return text.trim(); }
    }
    if (type === "against") return text === "" ? undefined : Number(text);
    return text === "" ? undefined : text; // string, date, choice, field
  }

  function groupValue(control) {
    var step = control.getAttribute("data-step");
    var rule = control.getAttribute("data-rule");
    var key = control.getAttribute("data-key");
    var selector = 'input[data-type="checks"][data-step="' + step + '"][data-key="' + key + '"]' +
      (rule === null ? ":not([data-rule])" : '[data-rule="' + rule + '"]');
    var chosen = [];
    root.querySelectorAll(selector).forEach(function (box) { if (box.checked) chosen.push(box.value); });
    return chosen;
  }

  // --- one step's controls ---------------------------------------------------------------------------------

  function fieldChoices(allLabel) {
    return [{ value: "", label: allLabel }].concat(data.fields.map(function (name) { return { value: name, label: name }; }));
  }

  function fieldList(step, index, key, legend) {
    var chosen = step[key] || [];
    return checks(index, null, key, legend, data.fields.map(function (name) { return { value: name, label: name }; }), chosen,
      "None ticked: all text of the example.");
  }

  function cleanBody(step, index) {
    var choices = data.clean.map(function (rule) { return { value: rule.name, label: rule.label, help: rule.help }; });
    return [checks(index, null, "rules", "Rules (they apply in a fixed order)", choices, step.rules || [])];
  }

  function dedupBody(step, index) {
    var method = step.method || "exact";
    var body = [];
    var methods = data.dedup.methods.map(function (m) { return { value: m.name, label: m.label }; });
    if (!data.dedup.methods.some(function (m) { return m.name === method; })) methods.push({ value: method, label: method });
    body.push(field(index, null, "method", { type: "string", label: "Method", choices: methods, value: method }));
    var defaults = data.dedup.defaults[method] || {};
    var preset = step.preset ? data.dedup.presets[step.preset] || {} : {};
    function current(key) { return step[key] !== undefined ? step[key] : (preset[key] !== undefined ? preset[key] : defaults[key]); }
    var grid = el("div", { "class": "pipeline-grid" });
    if (method === "minhash") {
      var presets = [{ value: "", label: "Custom" }].concat(Object.keys(data.dedup.presets).map(function (name) {
        var values = data.dedup.presets[name];
        return { value: name, label: name.charAt(0).toUpperCase() + name.slice(1) + " (" + values.ngram + "-word shingles, ≥ " + values.threshold + ")" };
      }));
      grid.appendChild(field(index, null, "preset", { type: "preset", label: "Preset", choices: presets, value: step.preset || "",
        help: "Strict catches copies with small edits; fuzzy also catches reworded ones (more false matches)." }));
    }
    if (method === "minhash" || method === "semantic") {
      grid.appendChild(field(index, null, "threshold", { type: "number", number: true, label: method === "minhash" ? "Jaccard similarity threshold" : "Cosine similarity threshold",
        min: 0.01, max: 1, value: current("threshold"), help: "Pairs at least this similar are duplicates (0–1)." }));
    }
    if (method === "minhash") {
      grid.appendChild(field(index, null, "ngram", { type: "int", number: true, integer: true, label: "Words per shingle", min: 1, max: 13, value: current("ngram"),
        help: "Longer shingles: only close copies match." }));
      grid.appendChild(field(index, null, "num_perm", { type: "int", number: true, integer: true, label: "Permutations", min: 16, max: 1024, value: current("num_perm"),
        help: "More: a finer estimate, slower." }));
    }
    var keep = step.keep || "first";
    grid.appendChild(field(index, null, "keep", { type: "string", label: "Keep in each group", value: keep,
      choices: data.dedup.keep.map(function (k) { return { value: k.name, label: k.label }; }) }));
    if (keep === "best") {
      grid.appendChild(field(index, null, "question", { type: "string", label: "Rated by question", required: true, value: step.question || "",
        choices: [{ value: "", label: "Choose a question" }].concat(data.questions.map(function (q) { return { value: q, label: q }; })),
        help: "The example with the highest score on this question is kept." }));
    }
    body.push(grid);
    body.push(fieldList(step, index, "fields", "Compare these fields"));
    return body;
  }

  function optionControl(index, ruleIndex, rule, option) {
    var value = rule[option.name];
    var type = option.type;
    var spec = { type: type, label: option.name, help: option.help, required: option.required, value: shown(value, type) };
    if (type === "bool") {
      var on = value === undefined ? option["default"] === true : value === true;
      spec.choices = [{ value: "true", label: "yes" }, { value: "false", label: "no" }];
      spec.value = on ? "true" : "false";
    } else if (type === "field") {
      spec.choices = fieldChoices("All text of the example");
    } else if (type === "choice") {
      spec.choices = option.choices.map(function (c) { return { value: c, label: c }; });
      spec.value = value === undefined ? option["default"] : value;
    } else if (type === "fields" || (type === "choices" && option.choices.length <= LIST_AS_CHECKBOXES)) {
      return checks(index, ruleIndex, option.name, option.name, option.choices.map(function (c) { return { value: c, label: c }; }),
        value || [], option.help);
    } else if (type === "choices") {
      spec.placeholder = "e.g. " + option.choices.slice(0, 3).join(", ");
      spec.help = option.help + " Separate them with commas.";
    } else if (type === "int" || type === "number") {
      spec.number = true;
      spec.integer = type === "int";
      spec.min = option.min;
      spec.max = option.max;
      if (value === undefined && option["default"] !== null) spec.value = option["default"];
    } else if (type === "numbers") {
      spec.help = option.help + " Separate them with commas.";
      if (value === undefined && option["default"] !== null) spec.value = shown(option["default"], type);
    } else if (type === "strings" || type === "scalars") {
      spec.lines = true;
      spec.help = option.help + " One a line.";
    } else if (type === "date") {
      spec.placeholder = "2024-01-31";
    }
    return field(index, ruleIndex, option.name, spec);
  }

  function filterBody(step, index) {
    var rules = Array.isArray(step.rules) ? step.rules : [];
    var list = el("ol", { "class": "filter-rules", "aria-label": "Rules of step " + (index + 1) });
    rules.forEach(function (rule, ruleIndex) {
      var spec = catalog[rule.name];
      var name = String(rule.name);
      var head = el("div", { "class": "filter-rule__head" }, [
        el("h4", { "class": "filter-rule__name", id: "s" + index + "-r" + ruleIndex + "-title", text: name }),
        button("Remove rule", { "data-action": "remove-rule", "data-step": index, "data-rule": ruleIndex,
          "aria-label": "Remove rule " + name + " from step " + (index + 1), "class": "button button--danger button--small" })
      ]);
      var item = el("li", { "class": "filter-rule", "data-option": "rules[" + ruleIndex + "]", tabindex: "-1",
        "aria-labelledby": "s" + index + "-r" + ruleIndex + "-title" }, [head]);
      if (!spec) {
        item.appendChild(el("p", { "class": "field__error", text: "No rule of this name in the catalog." }));
      } else {
        item.appendChild(el("p", { "class": "filter-rule__description", text: spec.description }));
        var grid = el("div", { "class": "pipeline-grid" });
        spec.options.forEach(function (option) { grid.appendChild(optionControl(index, ruleIndex, rule, option)); });
        item.appendChild(grid);
      }
      list.appendChild(item);
    });
    var body = [];
    if (rules.length) body.push(list);
    else body.push(el("p", { "class": "muted", text: "No rules yet: add one below. A record is dropped by the first rule it fails." }));
    var pick = el("select", { id: "s" + index + "-add-rule", "data-option": "rules" });
    KIND_GROUPS.forEach(function (group) {
      var optgroup = el("optgroup", { label: group[1] });
      data.catalog.forEach(function (rule) {
        if (rule.kind === group[0]) optgroup.appendChild(el("option", { value: rule.name, text: rule.name + " — " + rule.description }));
      });
      if (optgroup.children.length) pick.appendChild(optgroup);
    });
    body.push(el("div", { "class": "add-row" }, [
      el("div", { "class": "field" }, [el("label", { "for": "s" + index + "-add-rule", text: "Add a rule" }), pick]),
      button("Add rule", { "data-action": "add-rule", "data-step": index })
    ]));
    var sample = sampleSize();
    body.push(el("div", { "class": "add-row" }, [
      button("Dry run on a sample of " + sample.toLocaleString("en"), { "data-action": "dry-run", "data-step": index,
        "aria-describedby": "s" + index + "-dry-help", "class": "button button--small" }),
      el("span", { "class": "field__help", id: "s" + index + "-dry-help", text: "See what these rules would remove from a sample of the input, without running anything." })
    ]));
    body.push(el("div", { "class": "dry-run-region", id: "s" + index + "-dry-run", "aria-live": "polite" }));
    return body;
  }

  function piiBody(step, index) {
    var action = step.action || "redact";
    var radios = el("fieldset", { "class": "checks", "data-option": "action" }, [el("legend", { text: "Action" })]);
    var list = el("div", { "class": "checks__list" });
    [["redact", "Redact", "Replace each value with a placeholder such as [EMAIL]; keep the record."],
      ["drop", "Drop", "Remove every record holding any of them."]].forEach(function (choice) {
      var id = "s" + index + "-action-" + choice[0];
      list.appendChild(el("div", { "class": "check" }, [
        el("input", { type: "radio", name: "s" + index + "-action", id: id, value: choice[0], checked: action === choice[0],
          "data-step": index, "data-key": "action", "data-type": "string", "aria-describedby": id + "-help" }),
        el("div", {}, [el("label", { "for": id, text: choice[1] }), help(id + "-help", choice[2])])
      ]));
    });
    radios.appendChild(list);
    var entities = step.entities || data.pii.map(function (e) { return e.name; });
    return [radios, checks(index, null, "entities", "Look for", data.pii.map(function (e) { return { value: e.name, label: e.label }; }), entities)];
  }

  function decontaminateBody(step, index) {
    var body = [];
    var choices = data.versions.map(function (v) { return { value: v.id, label: v.label }; });
    if (step.against !== undefined && !data.versions.some(function (v) { return v.id === step.against; })) {
      choices.unshift({ value: step.against, label: "version " + step.against });
    }
    if (!choices.length) {
      body.push(el("p", { "class": "field__error", "data-option": "against", text: "There is no version to compare against yet: import the evaluation set and make a version of it first." }));
    } else {
      body.push(field(index, null, "against", { type: "against", label: "Evaluation set (a version)", choices: choices, value: step.against,
        help: "Records sharing a long enough run of words with any example of this version are dropped." }));
    }
    body.push(el("div", { "class": "pipeline-grid" }, [field(index, null, "ngram", { type: "int", number: true, integer: true, label: "Shared words",
      min: 8, max: 50, value: step.ngram !== undefined ? step.ngram : 13, help: "How many consecutive words two texts must share (8–50)." })]));
    body.push(fieldList(step, index, "fields", "Compare these fields"));
    return body;
  }

  var BODIES = { clean: cleanBody, dedup: dedupBody, filter: filterBody, pii: piiBody, decontaminate: decontaminateBody };

  // --- the list of steps -----------------------------------------------------------------------------------

  var list = el("ol", { "class": "pipeline-steps", "aria-label": "Steps" });
  var empty = el("p", { "class": "muted", text: "No steps yet. Add one below; with no steps at all, a run freezes the input as it is." });
  var announcer = el("p", { "class": "visually-hidden", "aria-live": "polite" });
  var addSelect = el("select", { id: "add-op" }, OPS.map(function (op) { return el("option", { value: op.value, text: op.label }); }));
  var addRow = el("div", { "class": "add-row" }, [
    el("div", { "class": "field" }, [el("label", { "for": "add-op", text: "Add a step" }), addSelect]),
    button("Add step", { "data-action": "add-step", "class": "button button--secondary" })
  ]);
  root.appendChild(list);
  root.appendChild(empty);
  root.appendChild(addRow);
  root.appendChild(announcer);

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function describe(step) {
    if (!step || typeof step !== "object") return "not a step";
    return step.op === "dedup" ? "dedup " + (step.method || "") : String(step.op);
  }

  function stepItem(step, index) {
    var title = "Step " + (index + 1) + ": " + (step && TITLES[step.op] ? TITLES[step.op] : describe(step));
    if (step && step.op === "dedup") title += " (" + (step.method || "?") + ")";
    var invalid = error && error.step === index;
    var tools = el("div", { "class": "pipeline-step__tools" }, [
      button("Move up", { "data-action": "move", "data-by": -1, "data-step": index, disabled: index === 0, "aria-label": "Move step " + (index + 1) + " up" }),
      button("Move down", { "data-action": "move", "data-by": 1, "data-step": index, disabled: index === steps.length - 1, "aria-label": "Move step " + (index + 1) + " down" }),
      button("Remove", { "data-action": "remove", "data-step": index, "aria-label": "Remove step " + (index + 1) + " (" + describe(step) + ")", "class": "button button--danger button--small" })
    ]);
    var headingId = "s" + index + "-title";
    var head = el("div", { "class": "pipeline-step__head" }, [
      el("h3", { "class": "pipeline-step__title", id: headingId, tabindex: "-1", text: title }), tools
    ]);
    var fieldset = el("fieldset", { "aria-labelledby": headingId });
    if (invalid) {
      fieldset.appendChild(el("div", { "class": "form-errors", role: "alert", id: "step-error-" + index, tabindex: "-1" }, [
        el("p", {}, [error.option ? el("code", { text: error.option }) : null, error.option ? ": " : "", error.message])
      ]));
    }
    var body = el("div", { "class": "pipeline-step__body" });
    var make = step && BODIES[step.op];
    if (make) make(step, index).forEach(function (node) { if (node) body.appendChild(node); });
    else body.appendChild(el("p", { "class": "muted", text: "This step can only be edited as JSON." }));
    fieldset.appendChild(body);
    var item = el("li", { "class": "pipeline-step" + (invalid ? " is-invalid" : ""), "data-index": index }, [head, fieldset]);
    if (invalid && error.option) {
      var target = item.querySelector('[data-option="' + CSS.escape(error.option) + '"]');
      if (target) {
        target.setAttribute("aria-invalid", "true");
        target.setAttribute("aria-describedby", ((target.getAttribute("aria-describedby") || "") + " step-error-" + index).trim());
      }
    }
    return item;
  }

  function render(focus) {
    list.textContent = "";
    steps.forEach(function (step, index) { list.appendChild(stepItem(step, index)); });
    empty.hidden = steps.length > 0;
    if (focus) {
      var target = typeof focus === "function" ? focus() : root.querySelector(focus);
      if (target) target.focus();
    }
  }

  // --- what the user does ----------------------------------------------------------------------------------

  function stepOf(node) { return Number(node.getAttribute("data-step")); }

  function setOption(target, key, value) {
    if (value === undefined || (Array.isArray(value) && value.length === 0 && key !== "entities" && key !== "rules")) delete target[key];
    else target[key] = value;
  }

  function changed(event) {
    var control = event.target;
    if (!control.hasAttribute || !control.hasAttribute("data-key") || !root.contains(control)) return;
    var index = stepOf(control);
    var step = steps[index];
    if (!step) return;
    var rule = control.getAttribute("data-rule");
    var key = control.getAttribute("data-key");
    var target = rule === null ? step : step.rules[Number(rule)];
    var type = control.getAttribute("data-type");
    var value = type === "checks" ? groupValue(control) : valueOf(control);
    if (type === "checks" && (key === "fields" || key === "value") && value.length === 0) value = undefined;
    if (key === "preset") {
      if (value) {
        target.preset = value;
        delete target.threshold;
        delete target.ngram;
      } else {
        var preset = data.dedup.presets[target.preset] || {};
        delete target.preset;
        Object.keys(preset).forEach(function (name) { target[name] = preset[name]; });
      }
      save();
      render("#" + CSS.escape(control.id));
      return;
    }
    setOption(target, key, value);
    if (key === "method") {
      ["threshold", "ngram", "num_perm", "preset"].forEach(function (name) { delete target[name]; });
    }
    if (key === "keep" && value !== "best") delete target.question;
    if ((key === "threshold" || key === "ngram") && target.preset) {
      // An edited value is no longer the preset's: keep the other preset value explicitly, drop the preset.
      var values = data.dedup.presets[target.preset] || {};
      Object.keys(values).forEach(function (name) { if (target[name] === undefined) target[name] = values[name]; });
      delete target.preset;
      var presetSelect = document.getElementById("s" + index + "-preset");
      if (presetSelect) presetSelect.value = "";
    }
    save();
    if (key === "method" || key === "keep") render("#" + CSS.escape(control.id));
  }

  root.addEventListener("change", changed);
  root.addEventListener("input", function (event) {
    var tag = event.target.tagName;
    if (tag === "INPUT" && (event.target.type === "text" || event.target.type === "number") || tag === "TEXTAREA") changed(event);
  });

  root.addEventListener("click", function (event) {
    var control = event.target.closest("button[data-action]");
    if (!control || !root.contains(control)) return;
    var action = control.getAttribute("data-action");
    var index = stepOf(control);
    if (action === "add-step") {
      var choice = OPS.filter(function (op) { return op.value === addSelect.value; })[0] || OPS[0];
      steps.push(choice.make());
      save();
      var added = steps.length - 1;
      render(function () { return list.children[added].querySelector("select, input, textarea, button[data-action='add-rule']"); });
      announce("Step " + (added + 1) + " added: " + choice.label + ".");
    } else if (action === "remove") {
      var removed = steps.splice(index, 1)[0];
      if (error && error.step === index) error = null;
      else if (error && error.step > index) error.step -= 1;
      save();
      render(function () {
        var next = list.children[Math.min(index, steps.length - 1)];
        return next ? next.querySelector(".pipeline-step__title") : addSelect;
      });
      announce("Step " + (index + 1) + " (" + describe(removed) + ") removed.");
    } else if (action === "move") {
      var by = Number(control.getAttribute("data-by"));
      var to = index + by;
      if (to < 0 || to >= steps.length) return;
      var moving = steps.splice(index, 1)[0];
      steps.splice(to, 0, moving);
      if (error && error.step === index) error.step = to;
      else if (error && error.step === to) error.step = index;
      save();
      render(function () {
        var item = list.children[to];
        var same = item.querySelector('button[data-action="move"][data-by="' + by + '"]');
        return same && !same.disabled ? same : item.querySelector('button[data-action="move"]:not([disabled])');
      });
      announce("Step " + describe(moving) + " moved " + (by < 0 ? "up" : "down") + " to position " + (to + 1) + ".");
    } else if (action === "add-rule") {
      var pick = document.getElementById("s" + index + "-add-rule");
      var step = steps[index];
      if (!Array.isArray(step.rules)) step.rules = [];
      step.rules.push({ name: pick.value });
      var ruleIndex = step.rules.length - 1;
      save();
      render(function () {
        var item = list.children[index].querySelectorAll(".filter-rule")[ruleIndex];
        return item.querySelector("input, select, textarea") || item;
      });
      announce("Rule " + pick.value + " added to step " + (index + 1) + ".");
    } else if (action === "remove-rule") {
      var ruleAt = Number(control.getAttribute("data-rule"));
      var name = steps[index].rules[ruleAt].name;
      steps[index].rules.splice(ruleAt, 1);
      save();
      render(function () {
        var left = list.children[index].querySelectorAll(".filter-rule");
        return left[Math.min(ruleAt, left.length - 1)] || document.getElementById("s" + index + "-add-rule");
      });
      announce("Rule " + name + " removed from step " + (index + 1) + ".");
    } else if (action === "dry-run") {
      dryRun(index, control);
    }
  });

  // --- the dry run of a filter step ------------------------------------------------------------------------

  function sampleSize() {
    var input = document.getElementById("id_sample");
    var size = input ? parseInt(input.value, 10) : NaN;
    return Math.min(isNaN(size) || size < 1 ? 1000 : size, DRY_RUN_MAX);
  }

  function dryRun(index, control) {
    var region = document.getElementById("s" + index + "-dry-run");
    var body = new FormData();
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    body.append("csrfmiddlewaretoken", token);
    body.append("rules", JSON.stringify(steps[index].rules || []));
    body.append("sample", String(sampleSize()));
    var parent = document.getElementById("id_parent");
    if (parent && parent.value) body.append("parent", parent.value);
    control.disabled = true;
    region.setAttribute("aria-busy", "true");
    region.textContent = "Running the rules on a sample…";
    fetch(data.dryRunUrl, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (response) {
        return response.text().then(function (html) {
          var type = response.headers.get("Content-Type") || "";
          if (response.redirected) region.textContent = "Your session has ended: sign in again, then retry.";
          // The server renders the fragment with every value escaped (templates/curation/_dry_run.html).
          else if (type.indexOf("text/html") === 0 && response.status < 500) region.innerHTML = html;
          else region.textContent = "The dry run failed (" + response.status + ").";
        });
      })
      .catch(function () { region.textContent = "The dry run failed: the server could not be reached."; })
      .then(function () {
        control.disabled = false;
        region.removeAttribute("aria-busy");
      });
  }

  // --- the JSON, the sample size, and the start ------------------------------------------------------------

  var typing = null;
  textarea.addEventListener("input", function () {
    window.clearTimeout(typing);
    typing = window.setTimeout(function () {
      var parsed = parse(textarea.value);
      if (parsed) {
        steps = parsed;
        error = null;
        render(null);
        if (status) status.textContent = "The steps above follow this JSON.";
      } else if (status) {
        status.textContent = "Not valid JSON (yet): the steps above show the last valid list.";
      }
    }, 400);
  });

  var sampleInput = document.getElementById("id_sample");
  var sampleLabel = document.querySelector("[data-sample-size]");
  if (sampleInput && sampleLabel) {
    sampleInput.addEventListener("input", function () {
      var size = parseInt(sampleInput.value, 10);
      sampleLabel.textContent = isNaN(size) ? "?" : size.toLocaleString("en");
      root.querySelectorAll('button[data-action="dry-run"]').forEach(function (node) {
        node.textContent = "Dry run on a sample of " + sampleSize().toLocaleString("en");
      });
    });
  }

  form.addEventListener("submit", function () { if (steps) save(); });

  if (!steps) {
    // The JSON as it came cannot be read: leave it to be fixed by hand; the forms appear once it parses.
    steps = [];
    if (status) status.textContent = "Not valid JSON: fix it here, and the steps' forms will appear.";
    root.hidden = false;
    render(null);
    return;
  }
  var summary = document.getElementById("steps-summary");
  if (summary) summary.hidden = true;
  var serverError = document.getElementById("step-error");
  if (serverError && error) serverError.remove();
  if (details) details.open = false;
  root.hidden = false;
  render(null);
  if (error && list.children[error.step]) {
    var item = list.children[error.step];
    var invalid = item.querySelector('[aria-invalid="true"]');
    (invalid && invalid.matches("input, select, textarea") ? invalid : item.querySelector(".form-errors")).focus();
  } else {
    var checked = document.querySelector("[data-focus]");
    if (checked) checked.focus();
  }
})();
