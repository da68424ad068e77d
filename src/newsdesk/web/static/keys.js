// Keyboard shortcuts; the pages work without them.
//   list pages:    j / k select the next / previous item, o opens the selected one
//   article page:  j / k go to the Next / Previous article
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function go(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) window.location.assign(link.href);
  }

  var selected = -1;

  function select(items, index) {
    if (!items.length) return;
    index = Math.max(0, Math.min(items.length - 1, index));
    if (selected >= 0 && items[selected]) items[selected].classList.remove("selected");
    selected = index;
    var item = items[selected];
    item.classList.add("selected");
    var link = item.querySelector("a.item-link");
    if (link) link.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    if (key !== "j" && key !== "k" && key !== "o") return;

    if (document.body.classList.contains("article-page")) {
      if (key === "j") go(".prevnext a[rel=next]");
      else if (key === "k") go(".prevnext a[rel=prev]");
      else return;
      event.preventDefault();
      return;
    }

    var items = document.querySelectorAll("[data-item]");
    if (!items.length) return;
    if (key === "j") select(items, selected + 1);
    else if (key === "k") select(items, selected < 0 ? 0 : selected - 1);
    else if (key === "o" && selected >= 0) {
      var link = items[selected].querySelector("a.item-link");
      if (link) window.location.assign(link.href);
    }
    event.preventDefault();
  });
})();
