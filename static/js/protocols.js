/* A protocol run's page: one clock, the server's. The page polls the run's state (JSON) every few seconds and
   counts down from the server's remaining seconds, measured on this device's monotonic clock from the moment the
   answer arrived, so every screen agrees within a second whatever its own clock says. When the run changes (a
   facilitator moved it, someone posted), the live part of the page is fetched again; what is typed in the post
   box stays. The server refuses what is posted outside its phase whatever this script shows. */
(function () {
  "use strict";

  var root = document.getElementById("run-live");
  if (!root || !root.getAttribute("data-state-url")) return;
  var stateUrl = root.getAttribute("data-state-url");
  var liveUrl = root.getAttribute("data-live-url");
  var poll = Math.max(1, parseInt(root.getAttribute("data-poll"), 10) || 2) * 1000;
  var reloadOnChange = root.hasAttribute("data-reload-on-change");
  var announce = document.querySelector("[data-announce]");
  var base = null;      // {remaining: seconds, at: performance.now(), running: bool}

  function meta() { return root.querySelector("[data-live-meta]"); }

  function format(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d) return d + " d " + two(h) + ":" + two(m) + ":" + two(r);
    if (h) return h + ":" + two(m) + ":" + two(r);
    return two(m) + ":" + two(r);
  }

  function readClock() {
    var clock = root.querySelector("[data-clock]");
    if (!clock || clock.getAttribute("data-remaining") === "") { base = null; return; }
    base = {remaining: parseFloat(clock.getAttribute("data-remaining")), at: performance.now(),
            running: clock.getAttribute("data-running") === "1"};
  }

  function tick() {
    var clock = root.querySelector("[data-clock]");
    if (!clock || !base) return;
    var left = base.running ? base.remaining - (performance.now() - base.at) / 1000 : base.remaining;
    clock.textContent = format(left);
    var over = root.querySelector("[data-overtime]");
    if (over) over.hidden = left > 0;
  }

  function syncPostBox() {
    var m = meta();
    var section = document.querySelector("[data-post-section]");
    if (!m || !section) return;
    var input = section.querySelector("[data-position-input]");
    var box = section.querySelector("textarea");
    var may = m.getAttribute("data-may-post") === "1";
    if (input && may) input.value = m.getAttribute("data-position");
    // A box with text in it stays, so nothing typed is lost; the server says if the phase has closed.
    section.hidden = !may && !(box && box.value.trim());
  }

  function refresh() {
    if (reloadOnChange) { window.location.reload(); return; }
    fetch(liveUrl, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var before = root.querySelector("#phase-title");
        var old = before ? before.textContent : "";
        var focused = document.activeElement && root.contains(document.activeElement);
        root.innerHTML = html;
        readClock(); tick(); syncPostBox();
        var title = root.querySelector("#phase-title");
        if (announce && title && title.textContent !== old) announce.textContent = "Now: " + title.textContent;
        if (focused && title) { title.setAttribute("tabindex", "-1"); title.focus(); }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function check() {
    fetch(stateUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        var m = meta();
        var count = m ? m.getAttribute("data-count") : null;
        // Changed: a facilitator moved it (its version), an asynchronous deadline passed (its phase or
        // status: nothing is written then), or someone posted.
        var changed = !m || String(s.version) !== m.getAttribute("data-version") ||
                      String(s.position === null ? "" : s.position) !== m.getAttribute("data-position") ||
                      s.status !== m.getAttribute("data-status") ||
                      (count !== "-1" && String(s.contributions) !== count);
        if (changed) { refresh(); return; }
        if (s.remaining !== null && s.remaining !== undefined) {
          base = {remaining: s.remaining, at: performance.now(), running: s.status === "running"};
          tick();
        }
      })
      .catch(function () { /* offline for a moment: the clock keeps counting from the last answer */ });
  }

  readClock(); tick(); syncPostBox();
  window.setInterval(tick, 250);
  window.setInterval(check, poll);
})();
