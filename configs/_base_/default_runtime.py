# Runtime shared by every shike_mm config.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['shike_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # MMEngine's CheckpointHook that keeps the previous checkpoint until the
    # next one is whole on the disk (local files).
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # shike_mm: the training class counts reach the head, the metrics and
    # the checkpoints by one road; contradictions and divergence are loud.
    # A run that would train nothing, or only stage 1 of a two-stage head,
    # stops before training.
    training_plan=dict(type='TrainingPlanCheckHook'),
    class_counts=dict(type='ClassCountsHook'),
    channel_order=dict(type='ChannelOrderCheckHook'),
    image_size=dict(type='ImageSizeCheckHook'),
    checkpoint_match=dict(type='CheckpointMatchHook', strict=False),
    nonfinite_loss=dict(type='NonFiniteLossHook', action='error'),
    # Speed option, off in the recipes: the model and its inputs in
    # channels-last memory format (docs/performance.md).
    channels_last=dict(type='ChannelsLastHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
