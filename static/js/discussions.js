/* Book study enhancements (no inline scripts: CSP). @mention completion from the cohort's people list
   (a small JSON endpoint that lists only those the viewer may mention), and confirm before deleting. */
(function () {
  "use strict";

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) ev.preventDefault();
  });

  function setup(editor) {
    var url = editor.getAttribute("data-people-url");
    var list = document.getElementById("mention-list");
    if (!url || !list) return;
    var timer = null;

    function query() {
      var upto = editor.value.slice(0, editor.selectionStart);
      var m = /(^|\s)@([^\s@\[\]]{0,40})$/.exec(upto);
      return m ? { text: m[2], start: upto.length - m[2].length - 1 } : null;
    }

    function close() { list.hidden = true; list.textContent = ""; }

    function show(people, q) {
      list.textContent = "";
      if (!people.length) { close(); return; }
      people.forEach(function (p) {
        var b = document.createElement("button");
        b.type = "button";
        b.setAttribute("role", "option");
        b.textContent = p.name;   // textContent: names from the LMS never become markup
        b.addEventListener("click", function () {
          var before = editor.value.slice(0, q.start), after = editor.value.slice(editor.selectionStart);
          editor.value = before + p.insert + " " + after;
          var pos = (before + p.insert + " ").length;
          editor.focus();
          editor.setSelectionRange(pos, pos);
          close();
        });
        list.appendChild(b);
      });
      list.hidden = false;
    }

    editor.addEventListener("input", function () {
      var q = query();
      window.clearTimeout(timer);
      if (!q) { close(); return; }
      timer = window.setTimeout(function () {
        fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q.text), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        }).then(function (r) { return r.ok ? r.json() : { people: [] }; })
          .then(function (data) { show(data.people || [], q); })
          .catch(close);
      }, 150);
    });
    editor.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") close();
      if (ev.key === "ArrowDown" && !list.hidden) { ev.preventDefault(); var first = list.querySelector("button"); if (first) first.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".dsc-editor[data-people-url]"), setup);
  });
})();
