# SHIKE on a frozen CLIP ViT-B/16, built on the LIFT model
# (lift_clip-vit-b16.py: the frozen vision tower, AdaptFormer of LIFT's
# width 2 ** floor(log2(C / 24)) in all 12 blocks, scale-25 cosine
# classifiers initialised from the class names' text embeddings):
# - experts as adapters: the first 12 - k blocks carry one adapter set, as
#   LIFT; each of the 3 experts owns the adapters of the last k blocks and
#   runs them on its own residual stream, ending in its own class token;
# - depth-wise knowledge fusion for tokens: expert m's class token is gated
#   by the trunk's class token at its own depth, spread over the trunk
#   (3, 7, 10 for k = 2); the gates start at 1 (docs/shike_clip.md);
# - SHIKE's head: one cosine classifier per expert (scale 25, LIFT's), each
#   trained with LIFT's logit-adjusted loss (tau 1) beside DKT and mutual KD
#   at their CIFAR-100 strengths per sample (batchmean with 10/100 and
#   1/100, as shike_common_large_scale.py); stage 2 re-trains the experts'
#   classifiers (starting from the text embeddings) with Balanced Softmax.
# A dataset config sets the class count (backbone and head) and the head's
# text_weights (tools/misc/clip_text_classifier.py).
_base_ = ['./lift_clip-vit-b16.py']

model = dict(
    backbone=dict(
        type='ExpertAdaptFormerModel',
        num_experts=3,
        expert_layers=2,
        fusion=dict(shallow_depths=None)),
    head=dict(
        _delete_=True,
        type='SHIKEHead',
        num_classes=1000,
        in_channels=768,
        num_experts=3,
        scale=25.0,
        text_weights=None,
        retrain_from_text=True,
        ce_loss=dict(type='LogitAdjustedLoss', tau=1.0),
        dkt_loss=dict(
            type='DKTLoss', loss_weight=10 / 100, reduction='batchmean'),
        mkd_loss=dict(
            type='MutualKDLoss', loss_weight=1 / 100, reduction='batchmean'),
        bal_loss=dict(type='BalancedSoftmaxLoss', loss_weight=1.0),
        topk=(1, 5)))
