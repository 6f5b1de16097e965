"""RoboComp's own IDSL text (robocomp/robocomp interfaces/IDSLs, development branch, 2023-12), copied
verbatim: tests build RoboComp-side cameras and clients from these, never from the project's slices."""

import re

CAMERASIMPLE = 'module RoboCompCameraSimple\n{\n  exception HardwareFailedException { string what; };\n\n  sequence<byte> ImgType;\n\n  struct TImage\n  {\n    bool compressed;  // opencv jpeg compression\n    int width;\n    int height;\n    int depth;\n    ImgType image;\n  };\n\n  interface CameraSimple\n  {\n    TImage getImage() throws HardwareFailedException;\n  };\n};\n'

FACIALEMOTIONRECOGNITION = 'module RoboCompFacialEmotionRecognition\n{\n\tsequence<byte> ImgType;\n\tstruct TImage\n    {\n        int width;\n        int height;\n        int depth;\n        ImgType image;\n    };\n\n    sequence<float> ProbabilityVector;\n\n\tstruct SEmotion\n\t{\n\t\tint x;\n\t\tint y;\n\t\tint w;\n\t\tint h;\n\t\tProbabilityVector EmotionVector;\t\n\t\tTImage FaceImage;\n\t};\n\n\tsequence<SEmotion> EmotionList;\n\n\tinterface FacialEmotionRecognition\n\t{\n\t\tidempotent void getEmotionList(out EmotionList emotionL);\n\t};\n};\n'

EMOTIONRECOGNITION = 'module RoboCompEmotionRecognition\n{\n    struct SEmotion\n    {\n        int x;\n        int y;\n        int w;\n        int h;\n        string emotion;\n    };\n\n    sequence<SEmotion> EmotionList;\n\n    interface EmotionRecognition\n    {\n        idempotent void getEmotionList(out EmotionList emotionL);\n    };\n};\n'


def tokens(slice_text: str) -> list[str]:
    """The Slice tokens of ``slice_text`` (comments and whitespace dropped): what "token-identical" compares."""
    without_comments = re.sub(r"//[^\n]*|/\*.*?\*/", " ", slice_text, flags=re.S)
    return re.findall(r"[A-Za-z_][A-Za-z_0-9]*|::|\d+|\S", without_comments)
