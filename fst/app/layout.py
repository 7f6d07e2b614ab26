"""The page: a gallery of styles with the options beside it, and a tab each for photos, videos and GIFs, and the
webcam. Its API (``/stylize_photo``, ``/stylize_video``) is what the page's buttons call."""

from __future__ import annotations

import gradio as gr

from fst.app.gallery import StyleModel
from fst.app.handlers import PAINTING, PHOTO_FORMATS, Handlers
from fst.inference.video import VIDEO_EXTENSIONS
from fst.options import AppOptions, TemporalOptions

# The gallery's scroll bar only when its thumbnails overflow it.
CSS = "#styles .grid-wrap { overflow-y: auto; }"
SIZES = ["original", "512", "1024", "2048", "4096"]
INTRO = """# fst: fast neural style transfer
Pick a style, then drop a photo, a video or a GIF, or turn the webcam on. Large photos are stylized in seamless
tiles; results download at full resolution."""


def first_style(model: StyleModel) -> str:
    """The mix a multi-style model starts with: its first style alone; nothing for a one-style model."""
    return model.styles[0] if model.styles else ""


def gallery_height(count: int) -> int:
    """Pixels for up to two rows of eight thumbnails on a wide screen; more rows scroll."""
    return 175 if count <= 8 else 330


def build_page(app: AppOptions, gallery: dict[str, StyleModel], handlers: Handlers) -> gr.Blocks:
    names = list(gallery)
    start = gallery[names[0]]
    age = max(1, round(app.keep_minutes * 60))
    with gr.Blocks(title="fst", analytics_enabled=False, delete_cache=(min(age, 300), age)) as page:
        gr.Markdown(INTRO)
        styles = gr.Gallery([(m.thumbnail, m.caption) for m in gallery.values()], label="Styles", columns=8,
                            height=gallery_height(len(gallery)), allow_preview=False, selected_index=0, object_fit="cover",
                            buttons=[], interactive=False, elem_id="styles")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                model = gr.Dropdown(names, value=names[0], label="Style model", elem_id="model")
                mix = gr.Textbox(first_style(start), label="Styles to mix (as fst-stylize's style=)",
                                 placeholder="candy:0.3,udnie:0.7", visible=bool(start.styles), elem_id="mix")
                painting = gr.Image(label=f"Your painting ('{PAINTING}' in the styles to mix)", type="filepath",
                                    sources=["upload", "clipboard"], visible=start.card.arbitrary, elem_id="painting")

                @gr.render(inputs=model)
                def mix_sliders(name: str):
                    chosen = gallery[name].styles if name in gallery else []
                    sliders = [gr.Slider(0, 1, value=float(i == 0), step=0.05, label=style) for i, style in enumerate(chosen)]

                    def spec(*weights: float) -> str:
                        return ",".join(f"{style}:{weight:g}" for style, weight in zip(chosen, weights) if weight > 0)

                    for slider in sliders:  # dragged or typed in
                        slider.input(spec, sliders, mix, queue=False, trigger_mode="always_last", api_visibility="private")

                strength = gr.Slider(0, 1, value=app.strength, step=0.05, label="Strength",
                                     info="0: the input unchanged, 1: the full style", elem_id="strength")
                preserve_color = gr.Checkbox(app.preserve_color, label="Preserve the input's colours", elem_id="preserve-color")
                initial_size = "original" if app.size is None else str(app.size)
                size = gr.Dropdown(SIZES if initial_size in SIZES else [initial_size, *SIZES], value=initial_size,
                                   allow_custom_value=True, label="Output size (long side, pixels)", elem_id="size")
            options = [model, mix, strength, preserve_color, size]

            with gr.Column(scale=3), gr.Tabs():
                with gr.Tab("Photo"):
                    with gr.Row():
                        photo = gr.Image(label="Photo", type="filepath", sources=["upload", "clipboard"], elem_id="photo")
                        photo_result = gr.Image(label="Stylized", type="filepath", interactive=False,
                                                buttons=["download", "fullscreen"], elem_id="photo-result")
                    with gr.Row():
                        format = gr.Radio(list(PHOTO_FORMATS), value="PNG", label="Download as", elem_id="format")
                        stylize_photo = gr.Button("Stylize photo", variant="primary", size="lg", elem_id="stylize-photo")
                with gr.Tab("Video or GIF"):
                    with gr.Row():
                        video = gr.File(label="Video or GIF", file_types=[*VIDEO_EXTENSIONS, ".gif"], elem_id="video")
                        with gr.Column():
                            video_result = gr.Video(label="Stylized video", interactive=False, elem_id="video-result")
                            gif_result = gr.Image(label="Stylized GIF", type="filepath", interactive=False, visible=False,
                                                  buttons=["download"], elem_id="gif-result")
                    with gr.Row(equal_height=True):
                        steady = gr.Checkbox(False, label="Steady paint along the optical flow (temporal=flow)",
                                             visible=app.temporal is not None, elem_id="steady")
                        steadiness = gr.Slider(0, 0.95, value=app.temporal.strength if app.temporal else TemporalOptions.strength, step=0.05,
                                               label="Steadiness", info="higher: steadier and blurrier strokes",
                                               visible=app.temporal is not None)
                        stylize_video = gr.Button("Stylize video", variant="primary", elem_id="stylize-video")
                with gr.Tab("Webcam"):
                    with gr.Row():
                        camera = gr.Image(label="Webcam", sources=["webcam"], streaming=True, type="numpy", elem_id="camera")
                        with gr.Column():
                            live = gr.Image(label=f"Live, {app.webcam_size} px", interactive=False, elem_id="live")
                            rate = gr.Textbox(label="Speed", interactive=False, elem_id="rate")
                    session = gr.State(None)

        def pick(event: gr.SelectData):
            return names[event.index]

        def follow(name: str):
            chosen = gallery.get(name, start)
            mix_box = gr.update(value=first_style(chosen), visible=bool(chosen.styles))
            return mix_box, gr.update(selected_index=names.index(chosen.name)), gr.update(visible=chosen.card.arbitrary)

        styles.select(pick, None, model, queue=False, api_visibility="private")
        model.change(follow, model, [mix, styles, painting], queue=False, api_visibility="private")
        painting.upload(lambda: PAINTING, None, mix, queue=False, api_visibility="private")  # paint with it
        # Photos and videos share one queue: `concurrency` requests run at once, whichever tab they came from.
        # preprocess=False: the handlers take the page's values as sent and the uploads unopened, and check them
        # themselves; fst decodes a file in its own words where Gradio's boxes would decode it first. Gradio still
        # refuses a file that was not uploaded.
        stylize_photo.click(handlers.photo, [photo, *options, format, painting], photo_result, api_name="stylize_photo",
                            concurrency_id="stylize", show_progress_on=photo_result, preprocess=False)
        stylize_video.click(handlers.video, [video, *options, steady, steadiness, painting], [video_result, gif_result],
                            api_name="stylize_video", concurrency_id="stylize", preprocess=False).then(
            lambda clip, gif: (gr.update(visible=gif is None), gr.update(visible=gif is not None)),
            [video_result, gif_result], [video_result, gif_result], queue=False, api_visibility="private")
        camera.stream(handlers.webcam, [camera, *options[:-1], session], [live, rate, session], stream_every=0.1,
                      concurrency_id="webcam", concurrency_limit=app.concurrency, show_progress="hidden",
                      api_visibility="private")
    return page
