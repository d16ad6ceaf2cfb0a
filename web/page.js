/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The script of the pages pages.ts writes, inlined into each: plain browser JavaScript, no library. Kept as a file of
// its own, outside src/, so each page gets it exactly as written (tsc type-checks it against the DOM, but never emits
// it). The page says which of the two it is in <body data-page>.
(() => {
  /** @param {string} id */
  const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const clamp = (/** @type {number} */ value, /** @type {number} */ low, /** @type {number} */ high) => Math.min(high, Math.max(low, value));

  /** The rectangle an `object-fit: contain` image fills inside its box, in the box's CSS pixels. */
  function contained(/** @type {HTMLImageElement} */ img, /** @type {number} */ boxWidth, /** @type {number} */ boxHeight) {
    const k = Math.min(boxWidth / img.naturalWidth, boxHeight / img.naturalHeight);
    const width = img.naturalWidth * k;
    const height = img.naturalHeight * k;
    return { x: (boxWidth - width) / 2, y: (boxHeight - height) / 2, width, height };
  }

  function report() {
    const entries = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('.entry[data-after]')]);
    const viewer = byId('viewer');
    const stage = byId('stage');
    const before = /** @type {HTMLImageElement} */ (byId('before'));
    const after = /** @type {HTMLImageElement} */ (byId('after'));
    const split = byId('split');
    const lens = byId('lens');
    const nearest = /** @type {HTMLInputElement} */ (byId('nearest'));
    const loupe = /** @type {HTMLInputElement} */ (byId('loupe'));
    let current = -1;
    let percent = 50;

    if (entries.length === 0) {
      stage.hidden = true;
      for (const id of ['previous', 'next', 'split']) byId(id).hidden = true;
      return;
    }

    function setSplit(/** @type {number} */ value) {
      percent = clamp(Math.round(value * 10) / 10, 0, 100);
      stage.style.setProperty('--split', `${percent}%`);
      split.setAttribute('aria-valuenow', String(percent));
      split.setAttribute('aria-valuetext', `${percent}% before`);
    }

    /** The stage takes the output's aspect, as large as the viewer's width and 65% of the window's height allow. */
    function layout() {
      const width = Number(entries[current]?.dataset.outWidth) || after.naturalWidth;
      const height = Number(entries[current]?.dataset.outHeight) || after.naturalHeight;
      if (!width || !height) return;
      const k = Math.min((viewer.clientWidth - 24) / width, (window.innerHeight * 0.65) / height);
      stage.style.width = `${Math.floor(width * k)}px`;
      stage.style.height = `${Math.floor(height * k)}px`;
    }

    function select(/** @type {number} */ index, /** @type {boolean} */ scroll) {
      current = (index + entries.length) % entries.length;
      const entry = /** @type {HTMLElement} */ (entries[current]);
      const name = entry.dataset.name ?? '';
      for (const e of document.querySelectorAll('.entry.current')) e.classList.remove('current');
      entry.classList.add('current');
      byId('viewer-title').textContent = name;
      before.src = entry.dataset.before ?? '';
      after.src = entry.dataset.after ?? '';
      before.alt = `before: ${name}${entry.dataset.width ? `, ${entry.dataset.width}×${entry.dataset.height}` : ''}`;
      after.alt = `after: ${name} upscaled${entry.dataset.outWidth ? `, ${entry.dataset.outWidth}×${entry.dataset.outHeight}` : ''}`;
      /** @type {HTMLButtonElement} */ (byId('previous')).disabled = entries.length < 2;
      /** @type {HTMLButtonElement} */ (byId('next')).disabled = entries.length < 2;
      layout();
      if (scroll) viewer.scrollIntoView({ block: 'start' });
    }

    /** Pointer position within the stage, in its CSS pixels. */
    function point(/** @type {PointerEvent} */ event) {
      const box = stage.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top, width: box.width, height: box.height };
    }

    /**
     * The loupe shows the side under the pointer at one output pixel per device pixel; the input is enlarged by the
     * same factor, so both sides show the same region at the same size.
     */
    function showLens(/** @type {PointerEvent} */ event) {
      const p = point(event);
      if (!loupe.checked || !after.naturalWidth || !before.naturalWidth || p.x < 0 || p.y < 0 || p.x > p.width || p.y > p.height) {
        lens.hidden = true;
        return;
      }
      const onBefore = p.x < (percent / 100) * p.width;
      const img = onBefore ? before : after;
      const magnification = after.naturalWidth / contained(after, p.width, p.height).width / window.devicePixelRatio;
      const rect = contained(img, p.width, p.height);
      const size = lens.offsetWidth || 180;
      lens.hidden = false;
      lens.classList.toggle('nearest', onBefore && nearest.checked);
      lens.style.left = `${p.x - size / 2}px`;
      lens.style.top = `${p.y - size / 2}px`;
      lens.style.backgroundImage = `url("${img.currentSrc}")`;
      lens.style.backgroundSize = `${rect.width * magnification}px ${rect.height * magnification}px`;
      lens.style.backgroundPosition = `${size / 2 - (p.x - rect.x) * magnification}px ${size / 2 - (p.y - rect.y) * magnification}px`;
      /** @type {HTMLElement} */ (lens.firstElementChild).textContent = onBefore ? 'before, 1:1' : 'after, 1:1';
    }

    let dragging = false;
    stage.addEventListener('pointerdown', (event) => {
      dragging = true;
      stage.setPointerCapture(event.pointerId);
      lens.hidden = true;
      const p = point(event);
      setSplit((p.x / p.width) * 100);
      split.focus({ preventScroll: true });
      event.preventDefault();
    });
    stage.addEventListener('pointermove', (event) => {
      if (!dragging) return showLens(event);
      const p = point(event);
      setSplit((p.x / p.width) * 100);
    });
    const stop = () => (dragging = false);
    stage.addEventListener('pointerup', stop);
    stage.addEventListener('pointercancel', stop);
    stage.addEventListener('pointerleave', () => (lens.hidden = true));
    split.addEventListener('keydown', (event) => {
      const step = event.shiftKey ? 10 : 1;
      /** @type {Record<string, number>} */
      const moves = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -10, PageUp: 10, Home: -100, End: 100 };
      if (!(event.key in moves)) return;
      setSplit(percent + /** @type {number} */ (moves[event.key]));
      event.preventDefault();
    });
    nearest.addEventListener('change', () => stage.classList.toggle('nearest', nearest.checked));
    loupe.addEventListener('change', () => (lens.hidden = true));
    after.addEventListener('load', layout);
    window.addEventListener('resize', layout);
    byId('previous').addEventListener('click', () => select(current - 1, false));
    byId('next').addEventListener('click', () => select(current + 1, false));
    const fromHash = () => {
      const index = entries.findIndex((e) => `#${e.id}` === location.hash);
      if (index >= 0) select(index, true);
    };
    window.addEventListener('hashchange', fromHash);
    const linked = entries.findIndex((e) => `#${e.id}` === location.hash);
    select(Math.max(0, linked), false);
    // A link to a file (report.html#f4) opens it in the viewer: the browser's own jump to the entry comes first.
    if (linked >= 0) window.addEventListener('load', () => viewer.scrollIntoView({ block: 'start' }));
    setSplit(50);
  }

  function compare() {
    const panels = byId('panels');
    const views = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('.view')]);
    const images = views.map((view) => /** @type {HTMLImageElement} */ (view.querySelector('img')));
    // Every image is drawn at the size of the largest result, so the same fraction of each is the same region.
    const width = Math.max(...images.map((img) => Number(img.getAttribute('width'))));
    const height = Math.max(...images.map((img) => Number(img.getAttribute('height'))));
    const level = byId('zoom-level');
    /** CSS pixels per pixel of the largest result, and the region's centre as fractions of the image. */
    let zoom = 1;
    let cx = 0.5;
    let cy = 0.5;
    panels.style.setProperty('--aspect', `${width} / ${height}`);

    const first = /** @type {HTMLElement} */ (views[0]);
    const fitZoom = () => Math.min(first.clientWidth / width, first.clientHeight / height);

    function render() {
      zoom = clamp(zoom, fitZoom() / 4, 64);
      cx = clamp(cx, 0, 1);
      cy = clamp(cy, 0, 1);
      for (const [i, view] of views.entries()) {
        const img = /** @type {HTMLImageElement} */ (images[i]);
        img.style.width = `${width * zoom}px`;
        img.style.height = `${height * zoom}px`;
        const x = view.clientWidth / 2 - cx * width * zoom;
        const y = view.clientHeight / 2 - cy * height * zoom;
        img.style.transform = `translate(${x.toFixed(2)}px, ${y.toFixed(2)}px)`;
      }
      level.textContent = `zoom ${Math.round(zoom * window.devicePixelRatio * 100)}%`;
    }

    /** Zooms by `factor`, keeping the image point under (x, y) of a view where it is. */
    function zoomAt(/** @type {number} */ factor, /** @type {HTMLElement} */ view, /** @type {number} */ x, /** @type {number} */ y) {
      const px = cx + (x - view.clientWidth / 2) / (width * zoom);
      const py = cy + (y - view.clientHeight / 2) / (height * zoom);
      const next = clamp(zoom * factor, fitZoom() / 4, 64);
      cx = px - (x - view.clientWidth / 2) / (width * next);
      cy = py - (y - view.clientHeight / 2) / (height * next);
      zoom = next;
      render();
    }

    for (const view of views) {
      /** @type {{ x: number, y: number } | undefined} */
      let last;
      view.addEventListener('pointerdown', (event) => {
        last = { x: event.clientX, y: event.clientY };
        view.setPointerCapture(event.pointerId);
        view.focus({ preventScroll: true });
        event.preventDefault();
      });
      view.addEventListener('pointermove', (event) => {
        if (!last) return;
        cx -= (event.clientX - last.x) / (width * zoom);
        cy -= (event.clientY - last.y) / (height * zoom);
        last = { x: event.clientX, y: event.clientY };
        render();
      });
      const stop = () => (last = undefined);
      view.addEventListener('pointerup', stop);
      view.addEventListener('pointercancel', stop);
      view.addEventListener(
        'wheel',
        (event) => {
          const box = view.getBoundingClientRect();
          zoomAt(event.deltaY < 0 ? 1.25 : 0.8, view, event.clientX - box.left, event.clientY - box.top);
          event.preventDefault();
        },
        { passive: false },
      );
      view.addEventListener('keydown', (event) => {
        const step = 0.1 / zoom;
        /** @type {Record<string, () => void>} */
        const keys = {
          ArrowLeft: () => (cx -= (step * view.clientWidth) / width),
          ArrowRight: () => (cx += (step * view.clientWidth) / width),
          ArrowUp: () => (cy -= (step * view.clientHeight) / height),
          ArrowDown: () => (cy += (step * view.clientHeight) / height),
          '+': () => (zoom *= 1.25),
          '=': () => (zoom *= 1.25),
          '-': () => (zoom *= 0.8),
          0: () => (zoom = fitZoom()),
          1: () => (zoom = 1 / window.devicePixelRatio),
        };
        if (!(event.key in keys)) return;
        /** @type {() => void} */ (keys[event.key])();
        render();
        event.preventDefault();
      });
    }
    const centre = (/** @type {number} */ factor) => zoomAt(factor, first, first.clientWidth / 2, first.clientHeight / 2);
    byId('fit').addEventListener('click', () => ((zoom = fitZoom()), (cx = cy = 0.5), render()));
    byId('actual').addEventListener('click', () => ((zoom = 1 / window.devicePixelRatio), render()));
    byId('zoom-in').addEventListener('click', () => centre(1.25));
    byId('zoom-out').addEventListener('click', () => centre(0.8));
    const nearest = /** @type {HTMLInputElement} */ (byId('nearest'));
    nearest.addEventListener('change', () => panels.classList.toggle('nearest', nearest.checked));
    window.addEventListener('resize', render);
    zoom = fitZoom();
    render();
  }

  if (document.body.dataset.page === 'report') report();
  else compare();
})();
