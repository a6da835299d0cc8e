// The dashboard's only script of its own (no inline scripts: the Content-Security-Policy forbids them).
// Copy buttons: <button data-copy="text">, or <button data-copy-from="#id"> for the text of that element (a
// code snippet, written once in the page). Delegated, so buttons swapped in by HTMX work too.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // navigator.clipboard needs a secure context; a tracker reached over plain http on a LAN address isn't one.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy], [data-copy-from]") : null;
    if (!button) { return; }
    var source = button.dataset.copyFrom ? document.querySelector(button.dataset.copyFrom) : null;
    var text = source ? source.textContent : button.dataset.copy;
    if (text === undefined) { return; }
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copy(text).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
    }, function () {
      button.textContent = "Press Ctrl+C";
    }).then(function () {
      clearTimeout(button._copyTimer);
      button._copyTimer = setTimeout(function () {
        button.textContent = label;
        button.classList.remove("copied");
      }, 2000);
    });
  });
})();
