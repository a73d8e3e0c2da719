"""From a photo or a video to labelled faces: the face detector, the classifier, scene analysis and
drawing, video files, Grad-CAM."""
