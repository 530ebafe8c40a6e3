/* The quick roll, progressively enhanced (no inline scripts: CSP).
   - Each status choice or note change is POSTed at once (fetch, CSRF header); the row says "Saved" or why not.
   - Changes not yet confirmed by the server are kept in localStorage and sent again on the next load or when
     the connection returns, so closing the page loses nothing.
   - With a row focused, typing a status key (P, L, E, A, M...) chooses it and moves to the next person.
   Without JavaScript the form still works: "Save the roll" submits every row. */
(function () {
  "use strict";

  var form = document.getElementById("roll-form");
  if (!form) return;
  var markUrl = form.getAttribute("data-mark-url");
  var storageKey = form.getAttribute("data-storage-key");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var note = form.querySelector(".att-js-note");
  if (note) note.hidden = false;

  function pending() {
    try { return JSON.parse(window.localStorage.getItem(storageKey) || "{}"); } catch (e) { return {}; }
  }
  function keep(all) {
    try { window.localStorage.setItem(storageKey, JSON.stringify(all)); } catch (e) { /* private mode */ }
  }
  function say(member, text, failed) {
    var el = document.getElementById("saved-" + member);
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("att-saved-error", !!failed);
  }
  function updateCount() {
    var rows = form.querySelectorAll(".att-row");
    var marked = 0;
    rows.forEach(function (row) { if (row.querySelector("input[type=radio]:checked")) marked += 1; });
    var counter = document.getElementById("roll-marked");
    if (counter) counter.textContent = String(marked);
  }

  // One request at a time per person, so two quick changes arrive in the order they were made.
  var inflight = {};
  function send(member, change) {
    var all = pending();
    all[member] = change;
    keep(all);   // kept until the server confirms it: a closed page loses nothing
    var previous = inflight[member] || Promise.resolve();
    var next = previous.then(function () { return post(member, change); });
    inflight[member] = next;
    return next;
  }

  function post(member, change) {
    say(member, "Saving…");
    var body = new URLSearchParams();
    body.set("membership_id", member);
    body.set("status", change.status || "");
    if (change.note !== undefined) body.set("note", change.note);
    return fetch(markUrl, {
      method: "POST", body: body, credentials: "same-origin", keepalive: true,
      headers: { "X-CSRFToken": csrf, "Accept": "application/json", "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var current = pending();
          delete current[member];   // refused for good: keeping it would resend a wrong change forever
          keep(current);
          say(member, "Not saved: " + (data.message || "the server refused it (" + response.status + ")."), true);
          return;
        }
        var current = pending();
        if (current[member] && current[member].status === change.status && current[member].note === change.note) {
          delete current[member];
          keep(current);
        }
        say(member, "Saved: " + data.label + (data.note ? " (with note)" : ""));
      });
    }).catch(function () {
      say(member, "Not saved yet (no connection): it will be sent when the connection is back.", true);
    });
  }

  function rowChange(row) {
    var member = row.getAttribute("data-member");
    var checked = row.querySelector("input[type=radio]:checked");
    var noteInput = row.querySelector("input[type=text]");
    if (!checked) {
      say(member, "Choose a status first; the note is kept with it.", true);
      return;
    }
    send(member, { status: checked.value, note: noteInput ? noteInput.value : undefined });
    updateCount();
  }

  form.addEventListener("change", function (event) {
    var row = event.target.closest(".att-row");
    if (row) rowChange(row);
  });

  form.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.matches("input[type=text], textarea")) return;   // typing a note is not a shortcut
    var row = target.closest(".att-row");
    if (!row || !event.key || event.key.length !== 1) return;
    var radio = row.querySelector("input[type=radio][data-key='" + event.key.toUpperCase() + "']");
    if (!radio) return;
    event.preventDefault();
    radio.checked = true;
    rowChange(row);
    // On to the next person: focus their chosen status, or their first.
    var li = row.closest("li");
    var next = li && li.nextElementSibling && li.nextElementSibling.querySelector(".att-row");
    if (next) {
      var focusable = next.querySelector("input[type=radio]:checked") || next.querySelector("input[type=radio]");
      focusable.focus();
    } else {
      radio.focus();
    }
  });

  function resend() {
    var all = pending();
    Object.keys(all).forEach(function (member) {
      var change = all[member];
      var row = form.querySelector(".att-row[data-member='" + member + "']");
      if (row && change.status) {
        var radio = row.querySelector("input[type=radio][data-key='" + change.status + "']");
        if (radio) radio.checked = true;
        var noteInput = row.querySelector("input[type=text]");
        if (noteInput && change.note !== undefined) noteInput.value = change.note;
      }
      send(member, change);
    });
    updateCount();
  }
  window.addEventListener("online", resend);
  resend();
})();
