/* Shop assistant loader: paste <script src="https://ASSISTANT-HOST/widget.js" async></script> into any page.
 * Adds a chat button in the corner; it opens the assistant's /widget page in an iframe, so the chat talks
 * only to the assistant's own server (no CORS, nothing stored on the shop's domain). */
(function () {
  "use strict";
  if (window.__shopAssistantLoaded) return;
  window.__shopAssistantLoaded = true;
  var script = document.currentScript || document.querySelector('script[src$="/widget.js"]');
  var origin = new URL(script.src, location.href);
  var widgetUrl = origin.href.replace(/widget\.js(\?.*)?$/, "widget");
  var accent = script.getAttribute("data-color") || "#2f6f5e";
  // the chat takes the shop's colour too: only the button had it, and a red shop's button opened a green chat
  if (script.getAttribute("data-color")) widgetUrl += "?color=" + encodeURIComponent(accent);

  var button = document.createElement("button");
  button.type = "button";
  button.id = "shop-assistant-button";
  button.setAttribute("aria-label", "Chat with us");
  button.textContent = script.getAttribute("data-label") || "Chat 💬";
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:24px;" +
    "padding:12px 18px;font:600 15px system-ui,sans-serif;color:#fff;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);background:" + accent;

  var frame = document.createElement("iframe");
  frame.id = "shop-assistant-frame";
  frame.title = "Shop assistant chat";
  frame.style.cssText = "position:fixed;right:20px;bottom:76px;z-index:2147483647;width:370px;height:560px;" +
    "max-width:calc(100vw - 40px);max-height:calc(100vh - 100px);border:0;border-radius:14px;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;display:none";

  button.addEventListener("click", function () {
    if (!frame.src) frame.src = widgetUrl;  // load the chat only when the customer opens it
    frame.style.display = frame.style.display === "none" ? "block" : "none";
  });
  function mount() { document.body.appendChild(frame); document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
