"""A local web app to stylize photos, videos, GIFs and the webcam: python scripts/app.py [port=8080] (fst-app)."""

from fst.commands.app import main

if __name__ == "__main__":
    main()
