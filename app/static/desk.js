/* The agents' desk, on top of pages that work without it:
   - keyboard shortcuts on the queues and the ticket page, listed in a help overlay ("?");
   - the queue counts and the ticket page follow changes made by others (polling);
   - a canned response is inserted in the reply box where the cursor is;
   - the reply box's look follows its mode (CSS :has() does it too). */
(function () {
  "use strict";

  var POLL_MS = 15000;
  var QUEUE_KEY = "steward.queue";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function getJSON(url, done) {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status === 200) {
        try { done(JSON.parse(request.responseText)); } catch (e) { /* not JSON: ignore */ }
      }
    };
    request.send();
  }

  // --- help overlay -------------------------------------------------------------------------
  var overlay = $("#shortcuts");
  var lastFocus = null;
  function showHelp(show) {
    if (!overlay) return;
    if (show) {
      lastFocus = document.activeElement;
      overlay.hidden = false;
      var close = $("[data-help-close]", overlay);
      if (close) close.focus();
    } else {
      overlay.hidden = true;
      if (lastFocus && lastFocus.focus) lastFocus.focus();
    }
  }
  $$("[data-help-open]").forEach(function (b) { b.addEventListener("click", function () { showHelp(true); }); });
  $$("[data-help-close]").forEach(function (b) { b.addEventListener("click", function () { showHelp(false); }); });
  if (overlay) overlay.addEventListener("click", function (e) { if (e.target === overlay) showHelp(false); });

  // --- queue page ---------------------------------------------------------------------------
  var queue = $("table.desk");
  var rows = queue ? $$("tbody tr[data-ref]", queue) : [];
  var current = -1;
  if (queue) {
    // the ticket page's next/previous follow the queue the agent came from
    try {
      sessionStorage.setItem(QUEUE_KEY, JSON.stringify({
        url: location.pathname + location.search,
        refs: rows.map(function (r) { return r.getAttribute("data-ref"); })
      }));
    } catch (e) { /* private mode: no next/previous */ }
  }
  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (r, i) { r.classList.toggle("is-current", i === current); });
    var link = $("[data-ticket-link]", rows[current]);
    if (link) link.focus();
  }
  function currentRow() { return current >= 0 ? rows[current] : null; }

  var counts = $("[data-live-counts]");
  if (counts) {
    setInterval(function () {
      if (document.hidden) return;
      getJSON(counts.getAttribute("data-live-counts"), function (data) {
        Object.keys(data.counts || {}).forEach(function (view) {
          var cell = $('[data-count="' + view + '"]', counts);
          if (cell && cell.textContent !== String(data.counts[view])) {
            cell.textContent = data.counts[view];
            cell.classList.add("changed");
          }
        });
      });
    }, POLL_MS);
  }

  // --- ticket page --------------------------------------------------------------------------
  var live = $("[data-live-version]");
  function neighbour(step) {
    if (!live) return null;
    try {
      var saved = JSON.parse(sessionStorage.getItem(QUEUE_KEY) || "null");
      var at = saved ? saved.refs.indexOf(live.getAttribute("data-ref")) : -1;
      if (at < 0) return null;
      var ref = saved.refs[at + step];
      return ref ? live.getAttribute("data-live-version").replace(/[^/]+\/version\.json$/, ref) : null;
    } catch (e) { return null; }
  }
  if (live) {
    var seen = live.getAttribute("data-version");
    setInterval(function () {
      if (document.hidden) return;
      getJSON(live.getAttribute("data-live-version"), function (data) {
        if (String(data.version) === seen || !live.hidden) return;
        var text = $("[data-live-text]", live);
        text.textContent = data.changed_by
          ? text.getAttribute("data-template").replace("__WHO__", data.changed_by)
          : text.getAttribute("data-template-system");
        live.hidden = false;
        $$("form").forEach(function (f) { if (f.querySelector("input[name=version]")) f.classList.add("stale"); });
      });
    }, POLL_MS);
  }

  // --- reply box ------------------------------------------------------------------------------
  var reply = $("#reply-form");
  function setMode(mode) {
    if (!reply) return;
    var radio = $('input[name=visibility][value="' + mode + '"]', reply);
    if (radio) radio.checked = true;
    reply.classList.toggle("reply-internal", mode === "internal");
    reply.classList.toggle("reply-public", mode !== "internal");
    var body = $("textarea", reply);
    if (body) body.focus();
  }
  if (reply) {
    $$("input[name=visibility]", reply).forEach(function (radio) {
      radio.addEventListener("change", function () { setMode(radio.value); });
    });
    var insert = $("[data-canned-insert]", reply);
    var choice = $("select[name=canned]", reply);
    if (insert && choice) {
      insert.addEventListener("click", function (event) {
        if (!choice.value) return;
        event.preventDefault();
        var url = reply.getAttribute("data-canned-url").replace(/\/0\.json$/, "/" + choice.value + ".json");
        getJSON(url, function (data) {
          var body = $("textarea", reply);
          var start = body.selectionStart || 0;
          var end = body.selectionEnd || 0;
          var before = body.value.slice(0, start);
          var glue = before && !/\n$/.test(before) ? "\n" : "";
          body.value = before + glue + data.text + body.value.slice(end);
          var caret = (before + glue + data.text).length;
          body.focus();
          body.setSelectionRange(caret, caret);
          choice.value = "";
        });
      });
    }
  }

  function click(selector) {
    var target = $(selector);
    if (target) target.click();
  }

  // --- shortcuts ------------------------------------------------------------------------------
  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && overlay && !overlay.hidden) { showHelp(false); return; }
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      if (key === "q" && live) { location.href = live.getAttribute("data-queue-url"); }
      return;
    }
    if (key === "?") { showHelp(overlay && overlay.hidden); event.preventDefault(); return; }
    if (key === "g") { pendingG = true; return; }
    if (queue) {
      if (key === "j") { select(current + 1); event.preventDefault(); }
      else if (key === "k") { select(current < 0 ? 0 : current - 1); event.preventDefault(); }
      else if ((key === "o" || key === "Enter") && currentRow()) { $("[data-ticket-link]", currentRow()).click(); }
      else if (key === "x" && currentRow()) { var box = $("input[type=checkbox]", currentRow()); box.checked = !box.checked; }
      else if (key === "a" && currentRow()) { var take = $("[data-take]", currentRow()); if (take) take.click(); }
      return;
    }
    if (live) {
      if (key === "j" || key === "k") {
        var url = neighbour(key === "j" ? 1 : -1);
        if (url) location.href = url.replace(/\/version\.json$/, "");
      } else if (key === "a") { click("[data-take]"); }
      else if (key === "r") { setMode("public"); event.preventDefault(); }
      else if (key === "i") { setMode("internal"); event.preventDefault(); }
    }
  });
})();
