"""Box conversions, IoU and GIoU on hand-computed boxes."""
import torch

from allinone.model.box_ops import (
    box_cxcywh_to_xywh,
    box_cxcywh_to_xyxy,
    box_iou,
    box_xywh_to_cxcywh,
    box_xywh_to_xyxy,
    box_xyxy_to_cxcywh,
    box_xyxy_to_xywh,
    generalized_box_iou,
)


def test_conversions_by_hand():
    xywh = torch.tensor([[10.0, 20.0, 4.0, 6.0]])
    xyxy = torch.tensor([[10.0, 20.0, 14.0, 26.0]])
    cxcywh = torch.tensor([[12.0, 23.0, 4.0, 6.0]])
    torch.testing.assert_close(box_xywh_to_xyxy(xywh), xyxy)
    torch.testing.assert_close(box_xyxy_to_xywh(xyxy), xywh)
    torch.testing.assert_close(box_xywh_to_cxcywh(xywh), cxcywh)
    torch.testing.assert_close(box_cxcywh_to_xywh(cxcywh), xywh)
    torch.testing.assert_close(box_cxcywh_to_xyxy(cxcywh), xyxy)
    torch.testing.assert_close(box_xyxy_to_cxcywh(xyxy), cxcywh)


def test_round_trips_any_leading_shape():
    b = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(0)) + 0.1
    torch.testing.assert_close(box_xyxy_to_cxcywh(box_cxcywh_to_xyxy(b)), b)
    torch.testing.assert_close(box_xyxy_to_xywh(box_xywh_to_xyxy(b)), b)
    torch.testing.assert_close(box_cxcywh_to_xywh(box_xywh_to_cxcywh(b)), b)
    # xywh → cxcywh → xyxy agrees with xywh → xyxy
    torch.testing.assert_close(box_cxcywh_to_xyxy(box_xywh_to_cxcywh(b)), box_xywh_to_xyxy(b))


def test_iou_and_giou_by_hand():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 1.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 2.0, 1.0]])
    iou, union = box_iou(a, b)
    # overlap 1 of union 4+4-1=7; disjoint; identical; b inside a (1 of 4)
    torch.testing.assert_close(iou, torch.tensor([1 / 7, 0.0, 1.0, 0.25]))
    torch.testing.assert_close(union, torch.tensor([7.0, 2.0, 4.0, 4.0]))
    giou = generalized_box_iou(a, b)
    assert giou.shape == (4,)
    # enclosing boxes: 9 (3x3), 3 (3x1), 4, 4 (= a)
    torch.testing.assert_close(giou, torch.tensor([1 / 7 - 2 / 9, -1 / 3, 1.0, 0.25]))


def test_far_apart_boxes_approach_minus_one():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    b = torch.tensor([[99.0, 99.0, 100.0, 100.0]])
    # enclosing 100x100, union 2: GIoU = 0 - (10000 - 2) / 10000
    torch.testing.assert_close(generalized_box_iou(a, b), torch.tensor([-(10000 - 2) / 10000]))


def test_degenerate_boxes_stay_finite_with_finite_gradients():
    a = torch.tensor([[0.5, 0.5, 0.5, 0.5],    # a point, identical to b
                      [0.5, 0.5, 0.5, 0.5],    # a point inside b
                      [0.6, 0.6, 0.4, 0.4],    # inverted (x2 < x1)
                      [0.0, 0.0, 0.0, 1.0]],   # zero width
                     requires_grad=True)
    b = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    iou, _ = box_iou(a, b)
    giou = generalized_box_iou(a, b)
    assert torch.isfinite(iou).all() and torch.isfinite(giou).all()
    assert (giou >= -1).all() and (giou <= 1).all()
    torch.testing.assert_close(iou, torch.zeros(4))  # empty boxes never overlap
    giou.sum().backward()
    assert torch.isfinite(a.grad).all()
