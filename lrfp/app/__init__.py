"""What only the Streamlit dashboard needs: page helpers, charts, pickers, the launcher, webcam frames.

The core (`lrfp.*`) never imports from here, so it reads, installs and tests without a screen.
"""
