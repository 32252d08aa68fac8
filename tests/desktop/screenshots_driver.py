"""Save the README's desktop screenshots from the real app on a real index of a realistic library:

    HOME=/tmp/x/home python -m tests.desktop.screenshots_driver --shared ../shared/data \\
        --data-dir D --model M --out docs/screenshots

writes welcome.png, search.png (grid with rating / label badges), loupe.png, indexing.png and settings.png.

The library is real photos from the shared data, copied under $HOME/Pictures/Library with their own file
names (so the app shows ~/Pictures/Library/…, no temporary paths), a few of them given a star rating and a
colour label in their XMP (what Lightroom's "Save Metadata to File" writes), plus three damaged files from a
card so the indexing view has failures to explain. The test model's AI keywords are nonsense: the detail
pane hides AI fields here, and the grid is sorted by date (a random model's relevance order means nothing).

Run under Xvfb (xvfb-run) or QT_QPA_PLATFORM=offscreen; tests/desktop/test_screenshots.py does this.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

# (folder under ~/Pictures/Library, shared file) — varied cameras, phones, scans and exports.
LIBRARY = {
    "2019 Travel": [
        "jpeg/photo_landscape_el_torcal_rocks.jpg",
        "jpeg/immich_thompson-springs_GPS.jpg",
        "jpeg/Nikon_D5000_GPS.jpg",
        "jpeg/Sony_DSC-HX5V_GPS.jpg",
        "jpeg/Nikon_COOLPIX_P6000_GPS_DSCN0010.jpg",
        "jpeg/FujiFilm_FinePixS1Pro_IPTC_GPS.jpg",
        "jpeg/orientation/recurser_Landscape_1.jpg",
        "tiff/DudleyLeavittUtah.tiff",
    ],
    "Wildlife": [
        "jpeg/photo_animal_prairie_falcon.jpg",
        "jpeg/photo_plant_cyclamen_persicum.jpg",
        "tiff/Bush-dog_xmp_iptc.tif",
        "png/photo_animal_chelsea_cat.png",
        "jpeg/immich_mongolels_rating.jpg",
    ],
    "Phone": [
        "jpeg/Apple_iPhone_4.jpg",
        "jpeg/Google_Pixel_IMG_20180725_163423-tiny.jpg",
        "jpeg/HTC_Desire_GPS.jpg",
        "jpeg/Samsung_SM-J327T1_orient6.jpg",
        "jpeg/Nokia_Lumia_800_GPS_keywords.jpg",
        "png/photo_food_coffee.png",
    ],
    "Cameras": [
        "jpeg/Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg",
        "jpeg/Canon_PowerShot_S90_keywords.jpg",
        "jpeg/Olympus_PEN_E-P3.jpg",
        "jpeg/Panasonic_DMC-LC40.jpg",
        "jpeg/Casio_EX-S1.jpg",
        "jpeg/Kodak_DC240.jpg",
        "jpeg/Ricoh_RDC5300.jpg",
        "jpeg/photo_vehicle_rocket.jpg",
        "tiff/Canon_5DMkIII_tif-with-iptc-icc-xmp.tif",
        "tiff/Nikon_D1X_Reagan.tiff",
        "png/photo_portrait_astronaut.png",
        "png/photo_grayscale_camera.png",
    ],
    "From old card": [  # damaged: the indexing view explains them
        "broken/zero_bytes.jpg",
        "broken/truncated_50pct_prairie_falcon.jpg",
        "broken/not_an_image_text.jpg",
    ],
}
# Ratings and colour labels written into the copies' XMP (as Lightroom's "Save Metadata to File" does).
MARKS = {
    "photo_animal_prairie_falcon.jpg": ("5", "Green"),
    "photo_landscape_el_torcal_rocks.jpg": ("4", "Yellow"),
    "Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg": ("4", "Red"),
    "Bush-dog_xmp_iptc.tif": ("3", "Blue"),
    "photo_plant_cyclamen_persicum.jpg": ("3", ""),
    "immich_thompson-springs_GPS.jpg": ("2", "Purple"),
    "photo_food_coffee.png": ("", "Yellow"),
    "Olympus_PEN_E-P3.jpg": ("1", ""),
}


def make_library(shared: Path, home: Path) -> Path:
    root = home / "Pictures" / "Library"
    for folder, files in LIBRARY.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for rel in files:
            shutil.copy2(shared / rel, root / folder / Path(rel).name)
    import pyexiv2

    for path in root.rglob("*"):
        mark = MARKS.get(path.name)
        if mark is None:
            continue
        rating, label = mark
        img = pyexiv2.Image(str(path))
        try:
            img.modify_xmp(
                {
                    **({"Xmp.xmp.Rating": rating} if rating else {}),
                    **({"Xmp.xmp.Label": label} if label else {}),
                }
            )
        finally:
            img.close()
    return root


def _pump(until, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if until():
            return True
        time.sleep(0.01)
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--shared", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ns = p.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Pixel Detective")
    from desktop import theme

    theme.apply(app)
    home = Path(os.path.expanduser("~"))
    library = make_library(ns.shared, home)
    ns.out.mkdir(parents=True, exist_ok=True)

    from bridge.settings import Settings
    from desktop.app import TrayApp
    from desktop.welcome import WelcomeWindow

    # 1. The first run on this machine: the default model's weights are not here (offline).
    first = Settings(data_dir=home / ".pixel-detective-first-run", model="ViT-B-32/laion2b_s34b_b79k")
    welcome = WelcomeWindow(first)
    for folder in sorted(library.iterdir()):
        if folder.name != "From old card":
            welcome.add_folder(str(folder))
    welcome.show()
    assert _pump(lambda: len(welcome.counts) == 4 and welcome.connection_checked, 30), "welcome not ready"
    _pump(lambda: False, 0.3)
    welcome.grab().save(str(ns.out / "welcome.png"))
    welcome.close()

    # 2. Indexing the library with the test model.
    settings = Settings(data_dir=ns.data_dir, model=ns.model, workers=2, batch_size=4)
    tray = TrayApp(settings, use_tray=False, welcome=False, instance_name=f"pd-screens-{time.time_ns()}")
    ready: list[bool] = []
    tray.backend.ready.connect(lambda: ready.append(True))
    tray.start(show_window=True)
    assert _pump(lambda: ready, 120), "engine did not start"
    tray.show_indexing()
    tray.indexing.move(40, 40)
    job = tray.backend.host.submit([str(library)], label="Pictures/Library")
    assert _pump(lambda: job.finished.is_set(), 300), "indexing did not finish"
    _pump(lambda: False, 0.5)
    tray.indexing.refresh_lists()
    _pump(lambda: False, 0.3)
    tray.indexing.grab().save(str(ns.out / "indexing.png"))

    # 3. The grid with badges: every photo, newest first (AI fields hidden: the test model's are nonsense).
    win = tray.window
    win.detail.show_ai = False
    win.resize(1360, 840)
    win.present()
    win.only_matches.setChecked(False)
    win.sort.setCurrentIndex(1)
    win.size_slider.setValue(150)
    shown: list[int] = []
    win.results_shown.connect(shown.append)
    win.query.setText("warm up")  # the first query loads the text encoder: not the time to show
    win.run_search()
    assert _pump(lambda: shown, 60), "no results"
    shown.clear()
    win.query.setText("photos")
    win.run_search()
    assert _pump(lambda: shown, 60), "no results"
    _pump(lambda: False, 0.5)
    win.thumbs.wait(60_000)
    _pump(lambda: False, 0.5)
    rows = [r.path for r in win.model.results()]
    pick = next(i for i, p in enumerate(rows) if p.endswith("photo_animal_prairie_falcon.jpg"))
    win.grid.setCurrentIndex(win.model.index(pick))
    win.grid.viewport().update()
    _pump(lambda: False, 0.5)
    win.thumbs.wait(10_000)
    _pump(lambda: False, 0.3)
    win.grab().save(str(ns.out / "search.png"))

    # 4. The loupe on the selected photo.
    win.open_loupe()
    assert _pump(lambda: win.loupe.has_large_image(), 30), "loupe image did not load"
    _pump(lambda: False, 0.3)
    win.grab().save(str(ns.out / "loupe.png"))
    win.close_loupe()

    from desktop.settings_dialog import SettingsDialog

    dlg = SettingsDialog(settings)
    dlg.folders.add(str(library))
    dlg.tabs.setCurrentIndex(1)  # model and device: shows which weights are present
    dlg.show()
    _pump(lambda: False, 0.3)
    dlg.grab().save(str(ns.out / "settings.png"))
    dlg.close()
    tray.shutdown()
    win.close()
    tray.indexing.close()
    names = ("welcome.png", "search.png", "loupe.png", "indexing.png", "settings.png")
    print("saved", *(str(ns.out / f) for f in names))
    return 0


if __name__ == "__main__":
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The pictures are saved and the host is closed: skip the interpreter's teardown of the Qt objects, which
    # sometimes ended this process with "shared QObject was deleted directly" and a segfault under Xvfb
    # (seen only here, after everything was written; cause not found).
    os._exit(code)
