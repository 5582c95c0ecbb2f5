// The gate page's script: reads a pass's QR code with the vendored jsQR, from the
// rear camera or from a picture, and posts it as the page's scan form would (with a
// fresh nonce per read, so a retry is the same scan); every form of the answer area
// is posted in place and the answer put where it was, the camera running on.
// Without this script the page works as plain forms.
//
// Offline (离线核验): when a scan cannot reach the server, the page checks the pass
// itself. An approved pass's QR code carries a payload signed with the zone's Ed25519
// key (`…/p/<token>#v1.<payload>.<signature>`); the page verifies it with the key in
// `#net` (TweetNaCl), checks the enterprise, the validity window and the signed
// revocation list it refreshes every minute while online, answers green or red, and
// queues the scan with what it decided. The queue is uploaded in order when the
// network returns (each with its nonce, so an upload retried is still one scan); the
// server records what the gate decided and flags conflicts.
(function () {
  "use strict";
  var panel = document.getElementById("scan");
  var camera = document.getElementById("camera");
  if (!panel || !camera || typeof window.jsQR !== "function") return;
  var video = document.getElementById("cam");
  var startButton = document.getElementById("cam-start");
  var shot = document.getElementById("shot");
  var msg = document.getElementById("cam-msg");
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null, busy = false, last = "", lastAt = 0;
  var offline = Offline(document.getElementById("net"));
  // A code read again within this long is the same truck still in front of the camera.
  var SAME_CODE_MS = 5000;
  // Frames are decoded at most this wide: enough for a pass held up, cheap on old phones.
  var FRAME_WIDTH = 640;

  camera.hidden = false;

  function say(text) { msg.textContent = text; }

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // The gate and the way chosen above the panel.
  function choice(data) {
    var chosen = document.querySelectorAll("[data-choice]");
    for (var i = 0; i < chosen.length; i++) {
      var el = chosen[i];
      if (el.type === "radio" && !el.checked) continue;
      data.set(el.name, el.value);
    }
  }

  function vibrate(pattern) { if (navigator.vibrate) navigator.vibrate(pattern); }

  // Posts `form` and puts the answer in place of the panel; a scan that cannot reach
  // the server is checked here instead.
  function send(form) {
    if (busy) return;
    var data = new URLSearchParams(new FormData(form));
    var scanning = form.hasAttribute("data-scan");
    if (scanning) choice(data);
    if (scanning && offline && !offline.online()) {
      offline.scan(form, data);
      return;
    }
    busy = true;
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) { return [response.url, html]; });
    }).then(function (answered) {
      var fresh = new DOMParser().parseFromString(answered[1], "text/html").getElementById("scan");
      if (!fresh && answered[0].indexOf("/console/login") >= 0) {
        // The session ended: the sign-in, whole.
        window.location.assign(answered[0]);
        return;
      }
      if (!fresh) throw new Error("no answer");
      panel.replaceWith(fresh);
      panel = fresh;
      var answer = panel.querySelector("[data-result]");
      if (answer) vibrate(answer.getAttribute("data-result") === "accepted" ? 120 : [120, 80, 120]);
      if (offline) offline.reached();
    }).catch(function (error) {
      if (scanning && offline && error instanceof TypeError) {
        // No network: this scan is checked here.
        offline.lost();
        for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
        busy = false;
        offline.scan(form, data);
        return;
      }
      var area = document.getElementById("answer");
      area.innerHTML = "";
      var box = document.createElement("div");
      box.className = "answer wait";
      box.setAttribute("role", "alert");
      box.textContent = "未能核验（网络或服务异常），请重试";
      area.appendChild(box);
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
    }).then(function () { busy = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!panel.contains(form)) return;
    event.preventDefault();
    send(form);
  });

  // A code read from the camera or a picture: the scan form with it and a new nonce.
  function read(text, again) {
    var now = Date.now();
    if (busy || (!again && text === last && now - lastAt < SAME_CODE_MS)) return;
    last = text;
    lastAt = now;
    var form = panel.querySelector("form[data-scan]");
    form.elements.code.value = text;
    form.elements.nonce.value = nonce();
    send(form);
  }

  function decode(width, height) {
    var image = ctx.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height);
    return found && found.data ? found.data : null;
  }

  function frame() {
    if (!stream) return;
    if (!busy && video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var text = decode(canvas.width, canvas.height);
      if (text) read(text, false);
    }
    setTimeout(frame, 200);
  }

  function stop() {
    if (!stream) return;
    stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    say("");
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("此浏览器无法使用摄像头（需 HTTPS）。请用“拍照识别”或手动输入。");
      return;
    }
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      startButton.textContent = "关闭摄像头";
      say("请将通行证二维码对准摄像头");
      try { localStorage.setItem("tp_gate_camera", "on"); } catch (e) { /* private mode */ }
      video.play();
      frame();
    }).catch(function (error) {
      say("无法打开摄像头（" + error.name + "）。请用“拍照识别”或手动输入。");
    });
  }

  startButton.addEventListener("click", function () {
    if (stream) {
      stop();
      startButton.textContent = "打开摄像头扫码";
      try { localStorage.removeItem("tp_gate_camera"); } catch (e) { /* private mode */ }
    } else {
      start();
    }
  });

  // A picture of the pass, from the camera app or the gallery.
  function drawn(source, width, height) {
    var scale = Math.min(1, 1280 / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    var text = decode(canvas.width, canvas.height);
    if (text) {
      say("已识别二维码");
      read(text, true);
    } else {
      say("未识别到二维码，请重拍，或手动输入车牌号或通行码。");
    }
  }

  shot.addEventListener("change", function () {
    var file = shot.files && shot.files[0];
    shot.value = "";
    if (!file) return;
    say("识别中…");
    if (window.createImageBitmap) {
      createImageBitmap(file).then(function (bitmap) {
        drawn(bitmap, bitmap.width, bitmap.height);
      }, function () { say("无法读取这张图片，请重拍。"); });
      return;
    }
    // Older browsers: a data: address (the page's policy allows no blob: images).
    var reader = new FileReader();
    reader.onload = function () {
      var img = new Image();
      img.onload = function () { drawn(img, img.naturalWidth, img.naturalHeight); };
      img.onerror = function () { say("无法读取这张图片，请重拍。"); };
      img.src = reader.result;
    };
    reader.readAsDataURL(file);
  });

  // The camera stops while the page is hidden and comes back with it.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
    else if (wanted()) start();
  });

  function wanted() {
    try { return localStorage.getItem("tp_gate_camera") === "on"; } catch (e) { return false; }
  }

  if (wanted()) start();

  // The page's offline mode, or null when the page has no key or TweetNaCl is missing.
  function Offline(net) {
    if (!net || !window.nacl || !net.getAttribute("data-key")) return null;
    var key = fromHex(net.getAttribute("data-key"));
    var enterprise = net.getAttribute("data-enterprise");
    var listUrl = net.getAttribute("data-revocations");
    var reasons = JSON.parse(net.getAttribute("data-reasons") || "{}");
    var store = "tp_gate_" + enterprise + "_";
    var up = navigator.onLine !== false, uploading = false;
    var revoked = verifiedList(load("revocations"));
    // A minute while online, as the issue of the list asks; sooner to probe when offline.
    var REFRESH_MS = 60000, PROBE_MS = 10000;

    function load(name) {
      try { return JSON.parse(localStorage.getItem(store + name) || "null"); } catch (e) { return null; }
    }
    function keep(name, value) {
      try { localStorage.setItem(store + name, JSON.stringify(value)); } catch (e) { /* full or private */ }
    }
    function fromHex(hex) {
      var bytes = new Uint8Array(hex.length / 2);
      for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
      return bytes;
    }
    function toHex(bytes) {
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    function utf8(text) { return new TextEncoder().encode(text); }
    function fromBase64Url(text) {
      var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
      while (b64.length % 4) b64 += "=";
      var raw = atob(b64), bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      return bytes;
    }
    function tokenHash(token) { return toHex(nacl.hash(utf8(token))).slice(0, 32); }

    // The revocation list as hash → reason, if its signature is the zone's and it is
    // this enterprise's; else none.
    function verifiedList(list) {
      if (!list || list.enterprise_id !== enterprise || !Array.isArray(list.entries)) return null;
      var text = "truckpass-revocations-v1\n" + list.enterprise_id + "\n" + list.issued_at + "\n";
      var byHash = {};
      list.entries.forEach(function (entry) {
        text += entry.pass + " " + entry.reason + "\n";
        byHash[entry.pass] = entry.reason;
      });
      try {
        if (!nacl.sign.detached.verify(utf8(text), fromBase64Url(list.signature), key)) return null;
      } catch (e) { return null; }
      return { byHash: byHash, issuedAt: list.issued_at };
    }

    function refresh() {
      return fetch(listUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        }).then(function (list) {
          var checked = verifiedList(list);
          if (checked) { revoked = checked; keep("revocations", list); }
          reached();
        }, function (error) {
          if (error instanceof TypeError) lost();
        });
    }

    function queue() { return load("queue") || []; }
    function inside() { return load("inside") || {}; }

    function show() {
      var waiting = queue().length;
      net.hidden = false;
      net.className = up ? "muted" : "notice bad";
      net.setAttribute("data-online", up ? "yes" : "no");
      net.setAttribute("data-queued", String(waiting));
      if (up) {
        net.textContent = waiting ? "在线：正在上传离线扫码 " + waiting + " 条" : "在线";
      } else {
        net.textContent = "离线：扫码在本机核验，待上传 " + waiting + " 条" +
          (revoked ? "（吊销名单 " + new Date(revoked.issuedAt).toLocaleTimeString("zh-CN", { hour12: false }) + "）" : "（无吊销名单）");
      }
    }

    function lost() {
      if (up) { up = false; show(); }
    }
    function reached() {
      var was = up;
      up = true;
      if (!was) show();
      upload();
    }

    // What the gate decides for `code` without the server.
    function decide(code, kind) {
      var found = /\/p\/([0-9A-Za-z]+)[^#]*#v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*$/.exec(code);
      if (!found) {
        // An exit is never held back: the truck leaves, the server matches it later.
        return kind === "exit" ? { result: "accepted" } : { result: "refused", reason: "unverifiable" };
      }
      var token = found[1].toUpperCase(), pass;
      try {
        if (!nacl.sign.detached.verify(utf8(token + "." + found[2]), fromBase64Url(found[3]), key)) {
          return { result: "refused", reason: "unverifiable" };
        }
        pass = JSON.parse(new TextDecoder().decode(fromBase64Url(found[2])));
      } catch (e) {
        return { result: "refused", reason: "unverifiable" };
      }
      var facts = { token: token, pass: pass };
      if (pass.e !== enterprise) return { result: "refused", reason: "other_enterprise", facts: facts };
      var inNow = inside();
      if (kind === "exit") return { result: "accepted", facts: facts };
      var now = Date.now() / 1000;
      var reason = now < pass.f ? "not_yet_valid"
        : now > pass.u ? "expired"
        : revoked && revoked.byHash[tokenHash(token)] ? revoked.byHash[tokenHash(token)]
        : inNow[token] ? "already_inside"
        : null;
      return reason ? { result: "refused", reason: reason, facts: facts } : { result: "accepted", facts: facts };
    }

    // The answer as the server would show it (the pass's masked facts below), marked
    // as checked here.
    function answer(decision, kind) {
      var area = document.getElementById("answer");
      area.innerHTML = "";
      var accepted = decision.result === "accepted";
      var pass = decision.facts ? decision.facts.pass : null;
      var box = document.createElement("div");
      box.className = "answer " + (accepted ? "go" : "stop");
      box.setAttribute("role", "alert");
      box.setAttribute("data-result", decision.result);
      box.setAttribute("data-offline", "yes");
      function line(text) {
        var small = document.createElement("small");
        small.textContent = text;
        box.appendChild(small);
      }
      box.appendChild(document.createTextNode(
        accepted ? (kind === "exit" ? "准予离园" : "准予入园") : "拒绝通行"));
      if (!accepted) line(reasons[decision.reason] || decision.reason);
      else if (pass) line(pass.p + " · " + pass.v);
      line("离线核验，联网后自动上传");
      area.appendChild(box);
      if (pass) {
        var dl = document.createElement("dl");
        [["车牌", pass.p], ["司机", pass.n], ["车型", pass.v]].forEach(function (row) {
          var dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = row[0];
          dd.textContent = row[1] || "";
          dl.appendChild(dt);
          dl.appendChild(dd);
        });
        var facts = document.createElement("div");
        facts.className = "facts";
        facts.appendChild(dl);
        area.appendChild(facts);
      }
      vibrate(accepted ? 120 : [120, 80, 120]);
    }

    // Checks a scan here, answers, and queues it with what was decided.
    function scan(form, data) {
      var code = data.get("code") || "", kind = data.get("type") || "entry";
      var decision = decide(code, kind);
      var list = queue();
      list.push({
        nonce: data.get("nonce"), gate_id: data.get("gate_id"), type: kind, code: code,
        client_time: new Date().toISOString(), offline_result: decision.result,
        offline_reason: decision.reason || ""
      });
      keep("queue", list);
      if (decision.facts && decision.result === "accepted") {
        var inNow = inside();
        if (kind === "entry") inNow[decision.facts.token] = true;
        else delete inNow[decision.facts.token];
        keep("inside", inNow);
      }
      answer(decision, kind);
      form.elements.nonce.value = nonce();
      form.elements.code.value = "";
      show();
    }

    // Uploads the queue in order, one scan at a time, while the network holds.
    function upload() {
      if (uploading || !up) return;
      var list = queue();
      if (!list.length) {
        keep("inside", {});
        show();
        return;
      }
      uploading = true;
      show();
      var item = list[0], body = new URLSearchParams();
      var csrf = document.querySelector("#scan-form input[type=hidden]:not([name=nonce])");
      if (csrf) body.set(csrf.name, csrf.value);
      Object.keys(item).forEach(function (name) { body.set(name, item[name]); });
      fetch(panel.querySelector("form[data-scan]").action, {
        method: "POST", body: body, credentials: "same-origin", headers: { Accept: "text/html" }
      }).then(function (response) {
        uploading = false;
        if (response.status >= 500 || response.url.indexOf("/console/login") >= 0) {
          // The server or the session is not ready: try again later.
          setTimeout(upload, PROBE_MS);
          return;
        }
        // Recorded (200), or refused for good (4xx, e.g. a gate since closed): either
        // way it leaves the queue, the server's answer is its record.
        var rest = queue();
        if (rest.length && rest[0].nonce === item.nonce) rest.shift();
        keep("queue", rest);
        upload();
      }, function () {
        uploading = false;
        lost();
      });
    }

    window.addEventListener("offline", lost);
    window.addEventListener("online", function () { refresh(); });
    setInterval(function () { if (up) refresh(); }, REFRESH_MS);
    setInterval(function () { if (!up || queue().length) refresh(); }, PROBE_MS);
    show();
    refresh();

    return {
      online: function () { return up; },
      lost: lost,
      reached: reached,
      scan: scan
    };
  }
})();
