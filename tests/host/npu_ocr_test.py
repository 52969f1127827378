#!/usr/bin/python3
"""host.npu-ocr: the text-reading demo's pre- and post-processing
(tools/npu-ocr/npu-ocr.py) on inputs whose answers are known: DB box
extraction, batching of crops, greedy CTC decoding. No model, no device."""
import importlib.util
import pathlib
import unittest

import numpy as np
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
SPEC = importlib.util.spec_from_file_location("npu_ocr", HERE / "../../tools/npu-ocr/npu-ocr.py")
ocr = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ocr)


class DetectBoxes(unittest.TestCase):
    def test_components_above_the_box_threshold_become_unclipped_boxes_in_reading_order(self):
        prob = np.zeros((64, 128), np.float32)
        prob[40:50, 10:70] = 0.9   # second line, 10 x 60
        prob[8:18, 20:60] = 0.8    # first line, 10 x 40
        prob[30:34, 100:120] = 0.4  # above 0.3 but its mean score is below 0.6
        prob[2:4, 2:4] = 0.95      # 2 x 2: below the minimum size
        boxes = ocr.detect_boxes(prob, 2.0, 0.5)
        self.assertEqual(len(boxes), 2)
        # Unclip distance area * 1.5 / perimeter: 400*1.5/100 = 6, 600*1.5/140.
        grow = 600 * 1.5 / 140
        self.assertEqual(boxes[0]["box"], [round(14 * 2), round(2 * 0.5), round(66 * 2), round(24 * 0.5)])
        self.assertEqual(boxes[1]["box"], [round((10 - grow) * 2), round((40 - grow) * 0.5),
                                           round((70 + grow) * 2), round((50 + grow) * 0.5)])
        self.assertAlmostEqual(boxes[0]["score"], 0.8, places=6)

    def test_an_empty_map_has_no_boxes(self):
        self.assertEqual(ocr.detect_boxes(np.zeros((32, 32), np.float32), 1.0, 1.0), [])


class Batches(unittest.TestCase):
    def test_crops_keep_their_ratio_and_are_zero_padded_on_the_right(self):
        crops = [Image.new("RGB", (100, 20), "white"), Image.new("RGB", (10, 20), "black")]
        half = np.array([0.5, 0.5, 0.5])
        batch = ocr.padded_batch(crops, 48, 192, half, half)
        self.assertEqual(batch.shape, (2, 3, 48, 192))
        self.assertTrue(np.all(batch[0, :, :, :192] == 1.0))  # 240 wide: cut at 192, white is 1
        self.assertTrue(np.all(batch[1, :, :, :24] == -1.0))  # 24 wide, black is -1
        self.assertTrue(np.all(batch[1, :, :, 24:] == 0.0))


class CtcDecode(unittest.TestCase):
    def test_repeats_merge_blanks_separate_and_the_last_class_is_a_space(self):
        keys = ["a", "b"]
        steps = [1, 1, 0, 1, 2, 3, 0, 0]  # a a _ a b ' ' _ _
        probabilities = np.full((len(steps), 4), 0.1, np.float32)
        for t, c in enumerate(steps):
            probabilities[t, c] = 0.7
        text, score = ocr.ctc_decode(probabilities, keys)
        self.assertEqual(text, "aab ")
        self.assertAlmostEqual(score, 0.7, places=6)


if __name__ == "__main__":
    unittest.main()
