#!/usr/bin/python3
"""host.npu-ocr: the text-reading demo's pre- and post-processing
(tools/npu-ocr/npu-ocr.py) on inputs whose answers are known: DB box
extraction (rotated minimum-area rectangles), the upright crop of a turned
box, batching of crops, greedy CTC decoding. No model, no device."""
import importlib.util
import math
import pathlib
import unittest

import numpy as np
from PIL import Image, ImageDraw

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

    def test_a_turned_component_gets_a_turned_box_in_reading_order(self):
        # A 60 x 12 bar turned 20 degrees (y down: its right end higher).
        angle = math.radians(20)
        along = np.array([math.cos(angle), -math.sin(angle)])
        across = np.array([math.sin(angle), math.cos(angle)])
        center = np.array([64.0, 48.0])
        corners = [center + sx * 30 * along + sy * 6 * across
                   for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        canvas = Image.new("L", (128, 96), 0)
        ImageDraw.Draw(canvas).polygon([tuple(c) for c in corners], fill=230)
        prob = np.asarray(canvas, np.float32) / 255.0
        (box,) = ocr.detect_boxes(prob, 1.0, 1.0)
        quad = np.array(box["quad"], np.float64)
        top_left, top_right, bottom_right, bottom_left = quad
        width, height = np.hypot(*(top_right - top_left)), np.hypot(*(bottom_left - top_left))
        # Unclipped by area * 1.5 / perimeter on each side; the pixels that
        # cover the turned bar add up to 1.5 px to each side of it first.
        for side, bar, other in ((width, 60, 12), (height, 12, 60)):
            low = bar + 2 * bar * other * 1.5 / (2 * (bar + other))
            high = bar + 1.5 + 2 * (bar + 1.5) * (other + 1.5) * 1.5 / (2 * (bar + other + 3))
            self.assertGreaterEqual(side, low - 0.5)
            self.assertLessEqual(side, high + 0.5)
        slope = math.degrees(math.atan2(top_left[1] - top_right[1], top_right[0] - top_left[0]))
        self.assertAlmostEqual(slope, 20, delta=2)
        self.assertLess(top_left[0], top_right[0])
        self.assertLess(top_left[1], bottom_left[1])
        self.assertEqual(box["box"], [*quad.min(axis=0).astype(int), *quad.max(axis=0).astype(int)])

    def test_the_minimum_area_rectangle_of_a_diamond_is_the_diamond(self):
        points = np.array([[0, 5], [5, 0], [10, 5], [5, 10], [5, 5]], np.float64)
        corners, width, height = ocr.min_area_rect(points)
        self.assertAlmostEqual(width, math.hypot(5, 5))
        self.assertAlmostEqual(height, math.hypot(5, 5))
        self.assertEqual(sorted(map(tuple, np.rint(corners).astype(int).tolist())),
                         [(0, 5), (5, 0), (5, 10), (10, 5)])

    def test_an_empty_map_has_no_boxes(self):
        self.assertEqual(ocr.detect_boxes(np.zeros((32, 32), np.float32), 1.0, 1.0), [])


class RotatedCrop(unittest.TestCase):
    def test_a_turned_box_is_cropped_upright(self):
        # An 80 x 20 bar, left half black and right half grey, turned 25 degrees.
        bar = Image.new("RGB", (80, 20), (128, 128, 128))
        ImageDraw.Draw(bar).rectangle([0, 0, 39, 19], fill=(0, 0, 0))
        canvas = Image.new("RGB", (200, 200), "white")
        canvas.paste(bar, (60, 90))
        turned = canvas.rotate(25, Image.Resampling.BICUBIC, center=(100, 100), fillcolor="white")
        angle = math.radians(25)

        def at(x, y):  # where (x, y) of the canvas went (rotate turns counter-clockwise)
            dx, dy = x - 100, y - 100
            return [100 + dx * math.cos(angle) + dy * math.sin(angle),
                    100 - dx * math.sin(angle) + dy * math.cos(angle)]
        quad = [at(60, 90), at(140, 90), at(140, 110), at(60, 110)]
        crop = ocr.rotated_crop(turned, quad)
        self.assertEqual(crop.size, (80, 20))
        pixels = np.asarray(crop.convert("L"), np.float32)
        self.assertLess(pixels[3:17, 4:36].mean(), 20)
        self.assertAlmostEqual(pixels[3:17, 44:76].mean(), 128, delta=10)

    def test_an_axis_aligned_box_crops_as_a_plain_crop(self):
        image = Image.fromarray(np.random.default_rng(7).integers(0, 255, (40, 60, 3), np.uint8))
        crop = ocr.rotated_crop(image, [[10, 5], [50, 5], [50, 30], [10, 30]])
        np.testing.assert_array_equal(np.asarray(crop), np.asarray(image.crop((10, 5, 50, 30))))


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
