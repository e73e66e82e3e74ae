"""Box conversions, IoU and GIoU on hand-computed boxes."""
import torch

from allinone.model.box_ops import (
    box_cxcywh_to_xyxy, box_iou, box_xywh_to_xyxy, box_xyxy_to_cxcywh, box_xyxy_to_xywh, generalized_box_iou)


def test_round_trips():
    b = torch.tensor([[0.2, 0.3, 0.4, 0.1], [5.0, 6.0, 2.0, 8.0]])
    torch.testing.assert_close(box_xyxy_to_cxcywh(box_cxcywh_to_xyxy(b)), b)
    torch.testing.assert_close(box_xyxy_to_xywh(box_xywh_to_xyxy(b)), b)


def test_iou_and_giou_by_hand():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    iou, union = box_iou(a, b)
    torch.testing.assert_close(iou, torch.tensor([1 / 7, 0.0, 1.0]))
    torch.testing.assert_close(union, torch.tensor([7.0, 2.0, 4.0]))
    giou, _ = generalized_box_iou(a, b)
    # enclosing boxes: 9 (3x3), 3 (3x1), 4
    torch.testing.assert_close(giou, torch.tensor([1 / 7 - 2 / 9, 0.0 - 1 / 3, 1.0]))


def test_degenerate_boxes_stay_finite():
    a = torch.tensor([[0.5, 0.5, 0.5, 0.5]])
    giou, iou = generalized_box_iou(a, a)
    assert torch.isfinite(giou).all() and torch.isfinite(iou).all()
