// callrec: the little script the page needs: the idle warning, the
// player's waveform cursor and seeking, and the live status. No inline
// script anywhere (the Content-Security-Policy forbids it).
"use strict";

(function () {
  var body = document.body;
  var csrfMeta = document.querySelector('meta[name="csrf"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  // --- Idle warning (WCAG 2.2.1): warn before the session times out,
  // with one click to stay signed in.
  if (body.dataset.signedIn === "yes") {
    var idle = parseInt(body.dataset.idle, 10) * 1000;
    var warn = parseInt(body.dataset.warn, 10) * 1000;
    var box = document.getElementById("idle-warning");
    var count = document.getElementById("idle-count");
    var stay = document.getElementById("idle-stay");
    var last = Date.now();
    var shown = false;
    var returnFocus = null;
    var activity = function () { last = Date.now(); };
    var keepAlive = function () {
      return fetch("/session/keepalive", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then(function (r) { if (r.ok) { activity(); } else { location.href = "/signin?ended=1"; } });
    };
    stay.addEventListener("click", function () {
      keepAlive().then(function () {
        box.hidden = true; shown = false;
        if (returnFocus) { returnFocus.focus(); }
      });
    });
    setInterval(function () {
      var left = idle - (Date.now() - last);
      if (left <= 0) { location.href = "/signin?ended=1"; return; }
      if (left <= warn) {
        count.textContent = Math.ceil(left / 1000);
        if (!shown) { shown = true; returnFocus = document.activeElement; box.hidden = false; stay.focus(); }
      }
    }, 1000);
    // Listening is activity too: keep the session while the player plays.
    var player = document.getElementById("player");
    if (player) {
      var lastPing = 0;
      player.addEventListener("timeupdate", function () {
        if (!player.paused && Date.now() - lastPing > 60000) { lastPing = Date.now(); keepAlive(); }
      });
    }
  }

  // --- The waveform: a cursor that follows the player; a click, or ← →
  // with the waveform focused, seeks.
  var audio = document.getElementById("player");
  var wave = document.getElementById("waveform");
  var cursor = document.getElementById("cursor");
  if (audio && wave && cursor) {
    var place = function () {
      if (!audio.duration) { return; }
      var x = wave.offsetLeft + wave.clientWidth * (audio.currentTime / audio.duration);
      cursor.style.left = x + "px";
    };
    audio.addEventListener("timeupdate", place);
    window.addEventListener("resize", place);
    var seek = function (fraction) {
      if (!audio.duration) { return; }
      audio.currentTime = Math.max(0, Math.min(1, fraction)) * audio.duration;
      place();
    };
    wave.addEventListener("click", function (e) {
      var r = wave.getBoundingClientRect();
      seek((e.clientX - r.left) / r.width);
    });
    wave.addEventListener("keydown", function (e) {
      if (!audio.duration) { return; }
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        e.preventDefault();
        var step = e.key === "ArrowRight" ? 5 : -5;
        seek((audio.currentTime + step) / audio.duration);
      }
    });
  }

  // --- Live status over Server-Sent Events.
  var stream = document.getElementById("status-stream");
  if (stream && window.EventSource) {
    var es = new EventSource(stream.dataset.src);
    var get = function (obj, path) {
      return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
    };
    es.addEventListener("status", function (ev) {
      var s = JSON.parse(ev.data);
      document.querySelectorAll("[data-field]").forEach(function (el) {
        var f = el.dataset.field, v = get(s, f);
        if (f === "time") { v = new Date(s.time).toLocaleString("en-GB"); }
        else if (f === "faults") { v = (s.faults && s.faults.length) ? s.faults.join(", ") : "none"; }
        else if (f === "leds" && s.leds) { v = "STATUS " + s.leds.status + " · REC " + s.leds.rec + " · OPT-OUT " + s.leds.optout + " · FAULT " + s.leds.fault + (s.leds.fault_red ? " (red)" : ""); }
        else if (f === "warnings") { v = (s.warnings && s.warnings.length) ? s.warnings.join(", ") : "none"; }
        else if (f === "packets_per_second") { v = Math.round(v); }
        else if (f === "disk.days_left") { v = v < 0 ? "unknown" : (v > 3650 ? "more than 10 years" : Math.round(v)); }
        if (v !== undefined && v !== null) { el.textContent = v; }
      });
      document.querySelectorAll("[data-show]").forEach(function (el) { el.hidden = !get(s, el.dataset.show); });
    });
    es.addEventListener("ended", function () { es.close(); location.href = "/signin?ended=1"; });
  }

  // --- Calls in progress over Server-Sent Events, with an opt-out button
  // per call (a plain form: it works without this script too).
  var live = document.getElementById("live-stream");
  var table = document.getElementById("live-calls");
  if (live && table && window.EventSource) {
    var tbody = document.getElementById("live-body");
    var canOptOut = table.dataset.canOptOut === "yes";
    var token = table.dataset.csrf;
    var cell = function (tr, text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; };
    var mmss = function (s) { s = Math.max(0, s); return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2); };
    var les = new EventSource(live.dataset.src);
    les.addEventListener("live", function (ev) {
      var calls = JSON.parse(ev.data) || [];
      // Keep a row whose button has the focus, so the keyboard is not lost.
      var focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest("tr") : null;
      if (focused && tbody.contains(focused)) { return; }
      tbody.textContent = "";
      calls.forEach(function (c) {
        var tr = document.createElement("tr");
        tr.dataset.id = c.id;
        cell(tr, c.FromText); cell(tr, c.ToText); cell(tr, c.direction); cell(tr, mmss(c.Seconds));
        cell(tr, (c.codecs || []).join(", ")); cell(tr, c.legs);
        var st = cell(tr, c.opted_out || c.Listed ? "" : "recording");
        if (c.opted_out || c.Listed) {
          var f = document.createElement("span"); f.className = "flag";
          f.textContent = c.opted_out ? "opted out" : "not recorded: do-not-record list"; st.appendChild(f);
        }
        var act = cell(tr, "");
        if (canOptOut && !c.opted_out && !c.Listed) {
          if (document.getElementById("listen")) {
            var lb = document.createElement("button"); lb.type = "button"; lb.className = "listen"; lb.dataset.id = c.id;
            lb.textContent = "Listen"; lb.setAttribute("aria-label", "Listen in to the call from " + c.FromText + " to " + c.ToText);
            act.appendChild(lb);
          }
          var form = document.createElement("form");
          form.method = "post"; form.action = "/live/" + encodeURIComponent(c.id) + "/optout"; form.className = "inline";
          var h = document.createElement("input"); h.type = "hidden"; h.name = "csrf"; h.value = token; form.appendChild(h);
          var b = document.createElement("button"); b.type = "submit"; b.textContent = "Opt out";
          b.setAttribute("aria-label", "Opt out the call from " + c.FromText + " to " + c.ToText);
          form.appendChild(b); act.insertBefore(form, act.firstChild);
        }
        if (c.Listeners && c.Listeners.length) {
          var lf = document.createElement("span"); lf.className = "flag"; lf.textContent = "listened to by " + c.Listeners.join(", "); act.appendChild(lf);
        }
        tbody.appendChild(tr);
      });
      document.getElementById("live-count").textContent = calls.length;
    });
    les.addEventListener("ended", function () { les.close(); location.href = "/signin?ended=1"; });
  }

  // --- Listen in: WebRTC, the box's answer carries its host candidates.
  var panelL = document.getElementById("listen");
  if (panelL && window.RTCPeerConnection) {
    var pc = null, session = null, callId = null;
    var stateL = document.getElementById("listen-state");
    var startB = document.getElementById("listen-start"), stopB = document.getElementById("listen-stop");
    var audioL = document.getElementById("listen-audio");
    var tokenL = document.getElementById("live-calls").dataset.csrf;
    var say = function (t) { stateL.textContent = t; };
    var finish = function (why) {
      if (pc) { pc.close(); pc = null; window.callrecListening = null; }
      session = null; startB.disabled = false; stopB.disabled = true; say(why);
    };
    document.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("button.listen") : null;
      if (!b) { return; }
      callId = b.dataset.id; panelL.hidden = false; say("Choose the reason, then start.");
      document.getElementById("listen-h").scrollIntoView(); startB.focus();
    });
    startB.addEventListener("click", function () {
      var r = document.querySelector('input[name="listen-reason"]:checked');
      if (!r) { say("Choose the reason first."); return; }
      startB.disabled = true; say("Connecting…");
      pc = new RTCPeerConnection({ iceServers: [] });
      window.callrecListening = pc; // for the page's tests: its stats
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
      var stream = new MediaStream();
      pc.ontrack = function (ev) { stream.addTrack(ev.track); audioL.srcObject = stream; };
      pc.onconnectionstatechange = function () {
        if (!pc) { return; }
        if (pc.connectionState === "connected") { say("Listening: both parties."); stopB.disabled = false; }
        if (pc.connectionState === "failed" || pc.connectionState === "closed" || pc.connectionState === "disconnected") { finish("Listening stopped."); }
      };
      pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).then(function () {
        return new Promise(function (ok) {
          if (pc.iceGatheringState === "complete") { ok(); return; }
          pc.onicegatheringstatechange = function () { if (pc.iceGatheringState === "complete") { ok(); } };
          setTimeout(ok, 2000);
        });
      }).then(function () {
        return fetch("/live/" + encodeURIComponent(callId) + "/listen", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": tokenL },
          body: JSON.stringify({ offer: pc.localDescription.sdp, reason: r.value, other: document.getElementById("listen-other").value })
        });
      }).then(function (resp) {
        return resp.json().then(function (j) { if (!resp.ok) { throw new Error(j.error || resp.status); } return j; });
      }).then(function (j) {
        session = j.session;
        return pc.setRemoteDescription({ type: "answer", sdp: j.answer });
      }).catch(function (err) { finish("Could not listen in: " + err.message); });
    });
    stopB.addEventListener("click", function () {
      if (session) {
        fetch("/live/listen/" + encodeURIComponent(session) + "/stop", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": tokenL } });
      }
      finish("Listening stopped.");
    });
  }
})();
