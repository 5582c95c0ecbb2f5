// truckpass: the surveyor's pages keep working without a network.
//
// Every write of a case page (a visit, its photos, the questionnaire) goes into a
// queue in localStorage first, with an id made here (the API's client_id: a retry
// with it is the same record, never a second one) and the case version the form
// was built on. The queue is sent in order when the page loads and when the browser
// comes back online. A case changed meanwhile (409 case_version_conflict) or a
// refused draft (422) stays in the queue, shown next to the form, until the
// surveyor loads it back into the form or drops it: nothing is overwritten silently.
// Photos taken for a visit go after it and name it once it is stored; photos taken
// for a photo question go before the answers, which wait for them (until each is
// sent or dropped) and name each photo's id once it is stored.
// Without this script the forms post normally.
(function () {
  "use strict";
  var KEY = "truckpass.survey.queue";
  var sending = false;
  var sentAny = false;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(queue) { localStorage.setItem(KEY, JSON.stringify(queue)); }
  function update(id, change) {
    save(load().map(function (item) { return item.id === id ? change(item) : item; }));
  }
  function drop(id) { save(load().filter(function (item) { return item.id !== id; })); }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }

  // The status bar: offline with N drafts, sending, synced, or what needs the surveyor.
  function status() {
    var bar = document.getElementById("sync");
    if (!bar) return;
    var queue = load();
    var stuck = queue.filter(function (item) { return item.problem; }).length;
    bar.hidden = false;
    bar.className = "sync";
    if (stuck) {
      bar.className = "sync bad";
      bar.textContent = "有 " + stuck + " 条草稿未能提交，请查看下方说明";
    } else if (queue.length && !navigator.onLine) {
      bar.className = "sync off";
      bar.textContent = "离线，已保存草稿 " + queue.length + " 条";
    } else if (queue.length) {
      bar.className = "sync off";
      bar.textContent = "正在同步草稿 " + queue.length + " 条…";
    } else {
      bar.textContent = navigator.onLine ? "已同步" : "离线（暂无草稿）";
    }
    showDrafts(queue);
  }

  // The drafts of this case that need the surveyor, next to the forms.
  function showDrafts(queue) {
    var box = document.getElementById("drafts");
    if (!box) return;
    box.textContent = "";
    queue.filter(function (item) { return item.caseId === box.dataset.case; })
      .forEach(function (item) {
        var div = document.createElement("div");
        div.className = "draft";
        var p = document.createElement("p");
        p.textContent = (item.kind === "answers" ? "问卷草稿" : item.kind === "visit" ? "走访草稿" : "照片") +
          "（" + new Date(item.at).toLocaleString("zh-CN") + "，基于第 " + item.version + " 版）：" +
          (item.problem || "已保存在本机，联网后自动提交");
        div.appendChild(p);
        var actions = document.createElement("div");
        actions.className = "actions";
        if (!item.problem) { box.appendChild(div); return; }
        if (item.kind !== "photo") {
          actions.appendChild(button("载入表单重新核对", function () { restore(item); drop(item.id); status(); }));
        }
        actions.appendChild(button("放弃此草稿", function () {
          if (confirm("确定放弃这条草稿吗？")) { drop(item.id); status(); }
        }));
        div.appendChild(actions);
        box.appendChild(div);
      });
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn alt";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  // Puts a draft's values back into its form (which keeps the page's own case version).
  function restore(item) {
    var form = document.querySelector("form[data-kind=" + item.kind + "]");
    if (!form) return;
    var params = new URLSearchParams(item.body);
    var names = {};
    params.forEach(function (value, name) { (names[name] = names[name] || []).push(value); });
    Object.keys(names).forEach(function (name) {
      if (name === "csrf" || name === "client_id" || name === "case_version") return;
      while (!form.elements[name] && /\[\d+\]\./.test(name) && addRow(form, name)) { /* rows */ }
      var field = form.elements[name];
      if (!field) return;
      var fields = field.length !== undefined && !field.tagName ? Array.prototype.slice.call(field) : [field];
      fields.forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = names[name].indexOf(input.value) >= 0;
        else input.value = names[name][0];
      });
    });
    form.scrollIntoView();
  }

  function addRow(form, name) {
    var key = name.slice(0, name.indexOf("["));
    var set = document.getElementById("q-" + key);
    return set ? add(set) : false;
  }

  // Sends the queue in order; stops at the first that cannot go now.
  function flush() {
    if (sending || !navigator.onLine) { status(); return; }
    var queue = load();
    var next = queue.filter(function (item) { return !item.problem && !waiting(item, queue); })[0];
    if (!next) {
      status();
      // Show the case as it now is once everything has gone.
      if (sentAny && !load().length && document.getElementById("drafts")) location.reload();
      return;
    }
    sending = true;
    status();
    send(next).then(function (outcome) {
      sending = false;
      if (outcome === "sent") { sentAny = true; drop(next.id); flush(); return; }
      if (outcome !== "later") update(next.id, function (item) { item.problem = outcome; return item; });
      status();
      if (outcome !== "later") flush();
    });
  }

  function send(item) {
    var init = { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf() } };
    if (item.kind === "photo") {
      init.headers["Content-Type"] = "image/jpeg";
      init.body = dataToBlob(item.data);
    } else {
      init.headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = item.body;
    }
    return fetch(item.url, init).then(function (res) {
      var json = (res.headers.get("Content-Type") || "").indexOf("json") >= 0;
      if (!json) return res.status === 403 || res.redirected ? "later-login" : "later";
      if (res.ok) return res.json().then(function (body) { afterSent(item, body); return "sent"; });
      return res.json().then(function (problem) {
        if (res.status === 429 || res.status >= 500) return "later";
        if (problem.code === "case_version_conflict") {
          return "这家企业的任务在您离线期间已被更新（例如已被审核或退回），草稿未提交。请载入表单核对后重新提交。";
        }
        var list = (problem.errors || []).map(function (e) { return e.message; });
        return (problem.detail || "未能提交") + (list.length ? "：" + list.join("；") : "");
      });
    }, function () { return "later"; }).then(function (outcome) {
      if (outcome === "later-login") { status(); return "later"; }
      return outcome;
    });
  }

  // Whether an item still waits for one of its photos (sent or dropped ones are gone).
  function waiting(item, queue) {
    return (item.waits || []).some(function (id) {
      return queue.some(function (other) { return other.id === id; });
    });
  }

  // A visit's photos name it once it is stored; answers name their question's
  // photos once those are.
  function afterSent(item, body) {
    if (item.kind === "visit" && body.visit) {
      save(load().map(function (i) {
        if (i.after === item.id) { i.url += "&visit_id=" + encodeURIComponent(body.visit.id); delete i.after; }
        return i;
      }));
    }
    if (item.kind === "photo" && item.into && body.id) {
      update(item.into, function (answers) {
        var params = new URLSearchParams(answers.body);
        params.append(item.field, body.id);
        answers.body = params.toString();
        return answers;
      });
    }
  }

  function dataToBlob(data) {
    var bin = atob(data.split(",")[1]);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: "image/jpeg" });
  }

  // A photo shrunk on the phone (the server re-encodes it again) so that drafts fit.
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, 1600 / Math.max(img.width, img.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        resolve(canvas.toDataURL("image/jpeg", 0.8));
      };
      img.onerror = reject;
      // A data: address (the console's policy allows no blob: images).
      var reader = new FileReader();
      reader.onload = function () { img.src = reader.result; };
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
  }

  function queueForm(form) {
    var box = document.getElementById("drafts");
    var fresh = newId();
    form.elements.client_id.value = fresh;
    var params = new URLSearchParams(new FormData(form));
    params.delete("csrf");
    var item = {
      id: fresh, kind: form.dataset.kind, url: form.action, body: params.toString(),
      caseId: box.dataset.case, version: Number(form.elements.case_version.value), at: Date.now()
    };
    // Each file input with its pictures: a visit's (no data-photo-for) or a photo
    // question's.
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
    var taken = [];
    inputs.forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) {
        taken.push({ field: input.dataset.photoFor, file: file });
      });
    });
    var shrunk = Promise.all(taken.map(function (t) { return shrink(t.file); })).catch(function () {
      alert("照片无法读取，将不带新照片保存。");
      return [];
    });
    return shrunk.then(function (pictures) {
      var queue = load();
      var before = [], after = [];
      pictures.forEach(function (data, n) {
        var id = newId();
        var photo = { id: id, kind: "photo", caseId: item.caseId, version: item.version, at: Date.now(),
          url: "/console/survey/cases/" + item.caseId + "/photos?client_id=" + id, data: data };
        if (taken[n].field) {
          photo.into = item.id;
          photo.field = taken[n].field;
          before.push(photo);
        } else {
          photo.after = item.id;
          after.push(photo);
        }
      });
      item.waits = before.map(function (photo) { return photo.id; });
      queue = queue.concat(before, [item], after);
      try { save(queue); } catch (e) { alert("手机存储空间不足，草稿未能保存，请联网后再试。"); return; }
      // The next write from this form is a new one, with a new id.
      form.elements.client_id.value = newId();
      inputs.forEach(function (input) { input.value = ""; });
      flush();
    });
  }

  function add(set) {
    var template = set.querySelector("template");
    var next = Number(set.dataset.next || 0);
    if (!template || set.querySelectorAll(".row").length >= Number(set.dataset.max || 20)) return false;
    var html = template.innerHTML.split("__row__").join(String(next));
    set.dataset.next = String(next + 1);
    template.insertAdjacentHTML("beforebegin", html);
    return true;
  }

  // The phone's location into a location question ("经度,纬度") or a visit's hidden
  // longitude and latitude.
  function locate(button) {
    var box = button.closest(".locate");
    if (!navigator.geolocation) { button.textContent = "此手机不能定位"; return; }
    button.disabled = true;
    button.textContent = "定位中…";
    navigator.geolocation.getCurrentPosition(function (at) {
      var lng = at.coords.longitude.toFixed(6), lat = at.coords.latitude.toFixed(6);
      var text = box.querySelector("input[type=text]");
      if (text) text.value = lng + "," + lat;
      var hidden = box.querySelectorAll("input[type=hidden]");
      if (hidden.length === 2) { hidden[0].value = lng; hidden[1].value = lat; }
      var shown = box.querySelector("output");
      if (shown) shown.textContent = lng + ", " + lat;
      button.disabled = false;
      button.textContent = "重新定位";
    }, function () {
      button.disabled = false;
      button.textContent = "定位失败，重试";
    }, { enableHighAccuracy: true, timeout: 15000 });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[data-locate]")) locate(target);
    if (target.matches("[data-add-row]")) add(target.closest("fieldset"));
    if (target.matches("[data-remove-row]")) target.closest(".row").remove();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("draftable") || !window.localStorage) return;
    event.preventDefault();
    queueForm(form);
  });

  Array.prototype.forEach.call(document.querySelectorAll(".photos[hidden]"), function (el) { el.hidden = false; });
  window.addEventListener("online", flush);
  window.addEventListener("offline", status);
  flush();
})();
