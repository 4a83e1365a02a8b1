// While a new ticket's title is typed, show the open tickets of the chosen module that look
// like it, each with a "Follow it instead" button (the page works the same without this file:
// its "Look for similar open tickets first" button asks the server).
(function () {
  "use strict";
  var box = document.getElementById("similar");
  var title = document.getElementById("title");
  var module = document.getElementById("module");
  if (!box || !title || !module) { return; }
  var list = box.querySelector(".similar-items");
  if (!list) {
    list = document.createElement("ul");
    list.className = "plain similar-items";
    box.appendChild(list);
  }
  var timer = null;
  var asked = "";

  function item(t) {
    var li = document.createElement("li");
    li.setAttribute("data-ref", t.ref);
    var link = document.createElement("a");
    link.href = t.url;
    link.textContent = t.ref;
    li.appendChild(link);
    var text = document.createElement("span");
    text.className = "wrap";
    text.textContent = " " + t.title + " ";
    li.appendChild(text);
    if (t.mine || t.watching) {
      var note = document.createElement("span");
      note.className = "muted";
      note.textContent = t.mine ? box.dataset.yoursLabel : box.dataset.followingLabel;
      li.appendChild(note);
    } else {
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "follow-instead";
      button.formAction = t.follow_url;
      button.formNoValidate = true;
      button.textContent = box.dataset.followLabel;
      li.appendChild(button);
    }
    return li;
  }

  function show(items) {
    list.textContent = "";
    box.querySelectorAll("p.muted").forEach(function (p) { p.remove(); });
    items.forEach(function (t) { list.appendChild(item(t)); });
    box.hidden = items.length === 0;
  }

  function ask() {
    var query = "module=" + encodeURIComponent(module.value) +
      "&title=" + encodeURIComponent(title.value.trim());
    if (!module.value || title.value.trim().length < 3 || query === asked) {
      if (!module.value || title.value.trim().length < 3) { show([]); }
      return;
    }
    asked = query;
    fetch(box.dataset.url + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) { if (query === asked) { show(body.items || []); } })
      .catch(function () { /* suggestions are a help, never in the way */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 300);
  }

  title.addEventListener("input", later);
  module.addEventListener("change", ask);
  if (title.value) { ask(); }
}());
