// Reviewing pages: single-key shortcuts on the review page and "select all" in the queue. Everything also works
// without this script; it only saves clicks for people who review all day. A number key accepts an answer after a
// few seconds that an Undo toast offers (undo.js).
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat || typing(event.target)) {
      return;
    }
    var control = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!control) return;
    event.preventDefault();
    if (control.name === "accept" && window.winnowUndo) acceptSoon(control);
    else control.click();
  });

  // Accepting an answer by its number key waits behind an Undo toast (undo.js); the button itself acts at once.
  function acceptSoon(button) {
    var form = button.form;
    window.winnowUndo.hold({
      message: button.dataset.holdMessage || "Accepting",
      undone: "Not accepted: nothing was resolved.",
      send: function () { form.requestSubmit(button); },
      beacon: function () {
        var data = new FormData(form);
        data.append(button.name, button.value);
        navigator.sendBeacon(form.action, data);
      },
    });
  }

  // On the page of every question: entering your own answer chooses "My own answer" for that question.
  document.addEventListener("input", function (event) {
    var name = event.target.dataset && event.target.dataset.ownFor;
    if (!name) return;
    var own = document.querySelector('input[data-own="' + CSS.escape(name) + '"]');
    if (own) own.checked = true;
  });

  var all = document.querySelector("[data-select-all]");
  if (all) {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="example"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
