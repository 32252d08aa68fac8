// The Search panel: a text search and a grid of thumbnails, each fetched with the key (as an object URL).

import { getJson, imageUrl } from "./api.js";

const $ = (sel) => document.querySelector(sel);
const PAGE = 24;
const PARALLEL = 6;

export class SearchPanel {
  constructor() {
    this.urls = [];
    $("#search-form").addEventListener("submit", (e) => this.search(e));
  }

  async search(event) {
    event.preventDefault();
    const err = $("#search-error");
    const status = $("#search-status");
    err.textContent = "";
    status.textContent = "searching…";
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    try {
      const started = performance.now();
      const got = await getJson("/search", { q: $("#q").value, where: $("#where").value.trim(), limit: PAGE });
      const ms = Math.round(performance.now() - started);
      status.textContent = `${got.results.length} photos (${ms} ms)`;
      const items = got.results.map((hit) => this.item(hit));
      $("#results").replaceChildren(...items.map((x) => x.li));
      await loadAll(items, (x) => this.thumbnail(x));
    } catch (e) {
      status.textContent = "";
      err.textContent = e.message;
    }
  }

  item(hit) {
    const li = document.createElement("li");
    const img = document.createElement("img");
    const name = hit.path.split(/[\\/]/).at(-1);
    img.alt = name;
    img.title = hit.path;
    const caption = document.createElement("p");
    caption.textContent = `${hit.rank}. ${name} — ${hit.score.toFixed(3)}`;
    li.append(img, caption);
    return { li, img, hit };
  }

  async thumbnail({ img, hit }) {
    try {
      const url = await imageUrl(`/photos/${encodeURIComponent(hit.fingerprint)}/thumbnail`);
      this.urls.push(url);
      img.src = url;
    } catch (e) {
      img.alt = `${img.alt} (no thumbnail: ${e.message})`;
    }
  }
}

async function loadAll(items, load) {
  const queue = [...items];
  const workers = Array.from({ length: PARALLEL }, async () => {
    while (queue.length) await load(queue.shift());
  });
  await Promise.all(workers);
}
