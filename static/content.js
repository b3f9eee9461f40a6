// Long texts of example content (data-collapsible) start folded, with a button to show them whole. Without
// scripts they are simply shown whole. Runs on page load and on every fragment htmx swaps in (the annotate page
// brings the next example that way).
(() => {
  "use strict";
  const FOLD_ABOVE = 1.3; // fold only what is clearly taller than the folded height

  function enhance(root) {
    for (const block of root.querySelectorAll("[data-collapsible]:not([data-collapsible-ready])")) {
      block.setAttribute("data-collapsible-ready", "");
      block.classList.add("is-collapsed");
      const folded = block.clientHeight;
      if (block.scrollHeight <= folded * FOLD_ABOVE) {
        block.classList.remove("is-collapsed");
        continue;
      }
      const button = document.createElement("button");
      button.type = "button";
      button.className = "collapse-toggle";
      button.textContent = "Show all";
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", () => {
        const collapsed = block.classList.toggle("is-collapsed");
        button.textContent = collapsed ? "Show all" : "Show less";
        button.setAttribute("aria-expanded", String(!collapsed));
      });
      block.after(button);
    }
  }

  enhance(document);
  document.addEventListener("htmx:afterSettle", (event) => enhance(event.target));
})();
