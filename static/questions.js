// The question editor (templates/annotate/_question_editor.html, annotate/question_editor.py). Without this script
// every button submits the form and the server sends the page back rearranged; with it, adding, moving, removing
// and restoring a question happen in the page, and the fields that do not apply to a question's kind are hidden.
// The rows keep the names the server reads (questions-<i>-<field>), renumbered after every change.
(function () {
  "use strict";

  var editor = document.getElementById("question-editor");
  if (!editor) return;
  var list = editor.querySelector("[data-rows]");
  var total = editor.querySelector("[data-total]");
  var empty = editor.querySelector("[data-empty]");
  var announce = editor.querySelector("[data-announce]");
  var template = document.getElementById("question-row-template");
  var FIELD = /questions-(\d+|__i__)-/g;
  var ACTION = /^(up|down|remove|restore)-(\d+|__i__)$/;

  function rows() {
    return Array.prototype.slice.call(list.children);
  }

  function say(text) {
    // Cleared first, so that the same words said twice are still read out.
    announce.textContent = "";
    window.setTimeout(function () { announce.textContent = text; }, 50);
  }

  function nameOf(row, position) {
    var input = row.querySelector('[data-field="name"]');
    var name = input && input.value.trim();
    return name ? "question " + position + " (" + name + ")" : "question " + position;
  }

  function renumber() {
    rows().forEach(function (row, index) {
      var prefix = "questions-" + index + "-";
      row.querySelectorAll("[name], [id], [for], [aria-describedby], [aria-labelledby]").forEach(function (node) {
        ["name", "id", "for", "aria-describedby", "aria-labelledby"].forEach(function (attr) {
          var value = node.getAttribute(attr);
          if (value && value.indexOf("questions-") !== -1) node.setAttribute(attr, value.replace(FIELD, prefix));
        });
      });
      var labelled = row.getAttribute("aria-labelledby");
      if (labelled) row.setAttribute("aria-labelledby", labelled.replace(FIELD, prefix));
      row.querySelectorAll("button[data-action]").forEach(function (button) {
        var match = ACTION.exec(button.value);
        if (match) button.value = match[1] + "-" + index;
      });
      var number = row.querySelector("[data-number]");
      if (number) number.textContent = String(index + 1);
      var tools = row.querySelector("[data-tools]");
      if (tools) tools.setAttribute("aria-label", "Move or remove question " + (index + 1));
    });
    total.value = String(rows().length);
    empty.hidden = rows().length > 0;
  }

  function showKind(row) {
    var kind = row.querySelector('[data-field="kind"]');
    if (!kind) return;
    row.querySelectorAll("[data-for-kinds]").forEach(function (part) {
      part.hidden = part.getAttribute("data-for-kinds").split(" ").indexOf(kind.value) === -1;
    });
  }

  function setRemoved(row, removed) {
    row.querySelector("[data-removed]").value = removed ? "1" : "";
    row.classList.toggle("qrow--removed", removed);
    row.querySelector("[data-fields]").hidden = removed;
    row.querySelector("[data-removed-note]").hidden = !removed;
    var button = row.querySelector('button[data-action="remove"], button[data-action="restore"]');
    var index = rows().indexOf(row);
    button.setAttribute("data-action", removed ? "restore" : "remove");
    button.value = (removed ? "restore-" : "remove-") + index;
    button.textContent = removed ? "Keep it" : "Remove";
    button.classList.toggle("button--danger", !removed);
    button.focus();
  }

  function add() {
    var fragment = template.content.cloneNode(true);
    var row = fragment.querySelector("[data-row]");
    list.appendChild(fragment);
    renumber();
    showKind(row);
    row.querySelector('[data-field="name"]').focus();
    say("Added question " + rows().length + ".");
  }

  function move(row, step) {
    var all = rows();
    var from = all.indexOf(row);
    var to = from + step;
    if (to < 0 || to >= all.length) {
      say(nameOf(row, from + 1) + " is already " + (step < 0 ? "first." : "last."));
      return;
    }
    if (step < 0) list.insertBefore(row, all[to]);
    else list.insertBefore(row, all[to].nextSibling);
    renumber();
    row.querySelector('button[data-action="' + (step < 0 ? "up" : "down") + '"]').focus();
    say("Moved " + nameOf(row, to + 1).replace(/^question \d+/, "it") + " to position " + (to + 1) + " of " + all.length + ".");
  }

  function remove(row) {
    if (row.querySelector('input[name$="-original"]').value) {
      setRemoved(row, true);
      say(nameOf(row, rows().indexOf(row) + 1) + " will be removed when you save.");
      return;
    }
    var all = rows();
    var index = all.indexOf(row);
    var label = nameOf(row, index + 1);
    row.remove();
    renumber();
    var next = rows()[Math.min(index, rows().length - 1)];
    var target = next && next.querySelector('button[data-action="remove"], button[data-action="up"]');
    (target || editor.querySelector('button[data-action="add"]')).focus();
    say("Removed " + label + ".");
  }

  editor.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button || !editor.contains(button)) return;
    event.preventDefault();
    var action = button.getAttribute("data-action");
    var row = button.closest("[data-row]");
    if (action === "add") add();
    else if (action === "up") move(row, -1);
    else if (action === "down") move(row, 1);
    else if (action === "remove") remove(row);
    else if (action === "restore") {
      setRemoved(row, false);
      say(nameOf(row, rows().indexOf(row) + 1) + " is kept.");
    }
  });

  editor.addEventListener("change", function (event) {
    if (event.target.matches('[data-field="kind"]')) showKind(event.target.closest("[data-row]"));
  });

  rows().forEach(showKind);
})();
