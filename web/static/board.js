// The plan board's small script: pick a visit to pin or move, and follow customer confirmations.
(function () {
  "use strict";
  var script = document.getElementById("board-script");
  var form = document.getElementById("pin-form");
  var visitInput = document.getElementById("pin-visit");
  var staffSelect = document.getElementById("pin-staff");
  var startInput = document.getElementById("pin-start");
  var help = document.getElementById("pin-help");

  function setAction() {
    var id = parseInt(visitInput.value, 10);
    if (id > 0) {
      form.action = form.getAttribute("data-action-template").replace("/visits/0/", "/visits/" + id + "/");
    }
  }

  function select(el) {
    var prev = document.querySelectorAll(".tl-block.selected");
    for (var i = 0; i < prev.length; i++) prev[i].classList.remove("selected");
    var visit = el.getAttribute("data-visit");
    visitInput.value = visit;
    var block = document.querySelector('.tl-block[data-visit="' + visit + '"]');
    if (block) {
      block.classList.add("selected");
      staffSelect.value = block.getAttribute("data-staff") || "";
      startInput.value = block.getAttribute("data-start") || "";
    } else {
      staffSelect.value = "";
      startInput.value = "";
    }
    help.textContent = el.getAttribute("data-label") || ("#" + visit);
    setAction();
    document.getElementById("pin-panel").scrollIntoView({block: "nearest"});
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-visit]");
    if (!el || !form || el.closest("#pin-panel")) return;
    if (el.tagName === "A") ev.preventDefault();
    select(el);
  });
  document.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList &&
        ev.target.classList.contains("tl-block")) {
      ev.preventDefault();
      select(ev.target);
    }
  });
  if (visitInput) {
    visitInput.addEventListener("input", setAction);
    form.addEventListener("submit", setAction);
  }
  // Drag a visit to another staff member's row and/or time: pins it there and re-plans.
  var timeline = document.getElementById("timeline");
  if (timeline && form) {
    var startMinute = parseInt(timeline.getAttribute("data-start-minute"), 10);
    var spanMinutes = parseInt(timeline.getAttribute("data-span-minutes"), 10);
    var dragged = null;
    timeline.addEventListener("dragstart", function (ev) {
      var block = ev.target.closest && ev.target.closest(".tl-block");
      if (!block) return;
      dragged = block;
      ev.dataTransfer.setData("text/plain", block.getAttribute("data-visit"));
      ev.dataTransfer.effectAllowed = "move";
    });
    timeline.addEventListener("dragover", function (ev) {
      if (dragged && ev.target.closest(".tl-row .tl-track")) ev.preventDefault();
    });
    timeline.addEventListener("drop", function (ev) {
      var track = ev.target.closest(".tl-row .tl-track");
      if (!dragged || !track) return;
      ev.preventDefault();
      var rect = track.getBoundingClientRect();
      var share = Math.min(Math.max((ev.clientX - rect.left) / rect.width, 0), 1);
      var minute = Math.round((startMinute + share * spanMinutes) / 5) * 5;
      var hh = String(Math.floor(minute / 60)).padStart(2, "0");
      var mm = String(minute % 60).padStart(2, "0");
      select(dragged);
      staffSelect.value = track.parentNode.getAttribute("data-staff");
      startInput.value = hh + ":" + mm;
      dragged = null;
      document.getElementById("pin-submit").click();
    });
  }

  // Pointing at a staff member's row shows only their route on the map.
  var map = document.getElementById("map");
  if (timeline && map) {
    timeline.addEventListener("mouseover", function (ev) {
      var row = ev.target.closest(".tl-row");
      var on = map.querySelectorAll(".route.on");
      for (var i = 0; i < on.length; i++) on[i].classList.remove("on");
      if (!row) { map.classList.remove("focus"); return; }
      var route = map.querySelector('.route[data-staff="' + row.getAttribute("data-staff") + '"]');
      if (route) route.classList.add("on");
      map.classList.add("focus");
    });
    timeline.addEventListener("mouseleave", function () { map.classList.remove("focus"); });
  }

  // Long requests (drafting a plan): disable the buttons so nobody presses twice.
  var busy = document.querySelectorAll("form[data-busy]");
  for (var b = 0; b < busy.length; b++) {
    busy[b].addEventListener("submit", function (ev) {
      var f = ev.currentTarget;
      setTimeout(function () {
        var buttons = f.querySelectorAll("button");
        for (var j = 0; j < buttons.length; j++) buttons[j].disabled = true;
      }, 0);
    });
  }

  // Follow the customers' confirmations: poll the day's status every 10 s.
  var statusUrl = script && script.getAttribute("data-status-url");
  var planId = script && script.getAttribute("data-plan-id");
  var live = document.getElementById("live-status");
  function refresh() {
    if (!statusUrl || document.hidden) return;
    fetch(statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (planId && String(data.plan_id) === planId) {
          Object.keys(data.visits).forEach(function (vid) {
            var status = data.visits[vid];
            var nodes = document.querySelectorAll('.tl-block[data-visit="' + vid + '"]');
            for (var k = 0; k < nodes.length; k++) {
              nodes[k].classList.toggle("confirmed", status === "confirmed");
              nodes[k].setAttribute("data-progress", (data.progress || {})[vid] || "");
              nodes[k].classList.toggle("at-risk", vid in (data.at_risk || {}));
            }
          });
          var lateText = script.getAttribute("data-late-text") || "{}";
          var rows = document.querySelectorAll("[data-late-staff]");
          for (var r = 0; r < rows.length; r++) {
            var minutes = (data.late || {})[rows[r].getAttribute("data-late-staff")];
            rows[r].hidden = !minutes;
            if (minutes) rows[r].textContent = lateText.replace("{}", String(minutes));
          }
          var fig = document.getElementById("fig-confirmed");
          if (fig) fig.textContent = Math.floor(data.confirmed_share * 100) + "%";
          var done = document.getElementById("fig-done");
          if (done) done.textContent = String(data.done || 0);
          var onSite = document.getElementById("fig-on-site");
          if (onSite) onSite.textContent = String(data.on_site || 0);
        }
        var text = script.getAttribute("data-updated-text") + " " + new Date().toLocaleTimeString(document.documentElement.lang || undefined);
        if (data.latest_plan_id && planId && String(data.latest_plan_id) !== planId &&
            String(data.plan_id) !== planId) {
          text = script.getAttribute("data-latest-text");
        }
        live.textContent = text;
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  if (statusUrl) {
    var seconds = parseFloat(script.getAttribute("data-interval")) || 10;
    setInterval(refresh, seconds * 1000);
    refresh();
  }

  // Today: the "now" line moves with the clock (from the server's minute: the business's time
  // zone, not the browser's).
  var timeline = document.getElementById("timeline");
  var nowMinute = timeline && timeline.getAttribute("data-now-minute");
  if (nowMinute) {
    var loaded = Date.now();
    var startMinute = parseFloat(timeline.getAttribute("data-start-minute"));
    var span = parseFloat(timeline.getAttribute("data-span-minutes"));
    setInterval(function () {
      var minute = parseFloat(nowMinute) + (Date.now() - loaded) / 60000;
      var left = (minute - startMinute) * 100 / span;
      timeline.querySelectorAll(".tl-now").forEach(function (line) {
        line.hidden = left < 0 || left > 100;
        line.style.left = left.toFixed(3) + "%";
      });
    }, 60000);
  }
})();
