/* A keyboard shortcut that throws work away (skip) or decides for good (accept an answer) is held back for a few
 * seconds behind an Undo toast, since one key is easy to press by mistake:
 *   winnowUndo.hold({ message, undone, send, beacon })
 * shows the message with an Undo button (u, Ctrl+Z or Esc undo too) and a "Do it now" button, then calls
 * send() when the time is up, "now" is chosen or the user moves on (Enter, n, p). Leaving the page meanwhile (a
 * link, closing the tab) sends it at once with beacon(), so moving on never loses it. Nothing is sent before then:
 * undoing leaves the server untouched. The buttons and forms themselves act at once, with or without JavaScript. */
(function () {
  "use strict";

  var DELAY_MS = window.winnowUndoMs || 5000; // tests shorten it
  var pending = null;

  function toast() {
    var box = document.getElementById("undo-toast");
    if (box) return box;
    box = document.createElement("div");
    box.id = "undo-toast";
    box.className = "toast";
    box.hidden = true;
    var text = document.createElement("p");
    text.className = "toast__text";
    text.setAttribute("role", "status");
    var undo = document.createElement("button");
    undo.type = "button";
    undo.className = "button button--secondary button--small";
    undo.dataset.undo = "";
    undo.innerHTML = 'Undo <kbd aria-hidden="true">u</kbd>';
    var now = document.createElement("button");
    now.type = "button";
    now.className = "button button--small";
    now.dataset.now = "";
    now.textContent = "Do it now";
    box.append(text, undo, now);
    document.body.append(box);
    undo.addEventListener("click", cancel);
    now.addEventListener("click", flush);
    return box;
  }

  function close() {
    var box = toast();
    box.hidden = true;
    clearInterval(pending.tick);
    clearTimeout(pending.timer);
    var back = pending.returnFocus;
    pending = null;
    // Focus stays where it was unless it went into the toast, which is hidden now.
    if (box.contains(document.activeElement) && back && document.contains(back)) back.focus({ preventScroll: true });
  }

  function cancel() {
    if (!pending) return;
    var undone = pending.undone;
    close();
    if (undone) announce(undone);
  }

  function flush() {
    if (!pending) return;
    var send = pending.send;
    close();
    send();
  }

  /* Says what undoing did, for a moment, without buttons. */
  var quiet = null;
  function announce(text) {
    var box = toast();
    show(box, text, false);
    quiet = setTimeout(function () {
      if (!pending) box.hidden = true;
    }, 3000);
  }

  function show(box, text, buttons) {
    clearTimeout(quiet);
    box.querySelector(".toast__text").textContent = text;
    box.querySelector("[data-undo]").hidden = !buttons;
    box.querySelector("[data-now]").hidden = !buttons;
    box.hidden = false;
  }

  function hold(options) {
    if (pending) close(); // one action waits at a time (the keys that would start another wait too)
    var box = toast();
    var left = Math.round(DELAY_MS / 1000);
    var label = function () {
      return options.message + (left > 0 ? " in " + left + " s" : "") + ".";
    };
    pending = {
      send: options.send,
      beacon: options.beacon,
      undone: options.undone || "",
      returnFocus: document.activeElement,
      timer: setTimeout(flush, DELAY_MS),
      tick: setInterval(function () {
        left -= 1;
        if (pending) box.querySelector(".toast__text").textContent = label();
      }, 1000),
    };
    show(box, label(), true); // announced (role=status); focus stays put, so Enter still means "go on"
  }

  // While an action waits (capture phase: before the pages' own handlers): u, Ctrl/Cmd+Z and Esc undo it; Enter,
  // n and p move on, so it is sent now; Tab and the toast's own buttons work as usual; every other shortcut of the
  // page waits.
  document.addEventListener(
    "keydown",
    function (event) {
      if (!pending || event.isComposing) return;
      var key = event.key;
      var undoKey = (key === "z" || key === "Z") && (event.ctrlKey || event.metaKey);
      if (key === "u" || key === "Escape" || undoKey) {
        event.preventDefault();
        event.stopImmediatePropagation();
        cancel();
        return;
      }
      if (key === "Tab" || event.target.closest("#undo-toast")) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      if (key === "Enter" || key === "n" || key === "p") flush();
    },
    true
  );

  window.addEventListener("pagehide", function () {
    if (!pending) return;
    var beacon = pending.beacon;
    close();
    if (beacon) beacon();
  });

  window.winnowUndo = {
    hold: hold,
  };
})();
