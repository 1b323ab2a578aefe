"""tools/test.py evaluates a checkpoint and dumps predictions or metrics."""
import os
import pickle

import pytest
import torch

SMOKE_CONFIG = 'configs/smoke/tiny-resnet_fake-images.py'


@pytest.fixture(scope='module')
def smoke_checkpoint(tmp_path_factory, tiny_image_folder, run_tool):
    work_dir = tmp_path_factory.mktemp('smoke_train')
    run_tool('train.py', SMOKE_CONFIG, '--work-dir', work_dir, '--cfg-options',
             f'train_dataloader.dataset.data_root={tiny_image_folder}',
             f'val_dataloader.dataset.data_root={tiny_image_folder}',
             'train_cfg.max_epochs=1')
    return work_dir / 'epoch_1.pth'


def _data_options(root):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={root}']


def test_dumps_one_prediction_per_test_image(smoke_checkpoint, tmp_path,
                                             tiny_image_folder, run_tool):
    out = tmp_path / 'preds.pkl'
    proc = run_tool('test.py', SMOKE_CONFIG, smoke_checkpoint, '--work-dir',
                    tmp_path, '--out', out, *_data_options(tiny_image_folder))
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 16  # 4 classes x 4 val images
    assert preds[0]['pred_score'].shape == (4, )
    assert sorted(int(p['gt_label']) for p in preds) == sorted(
        [c for c in range(4) for _ in range(4)])


def test_dumps_metrics(smoke_checkpoint, tmp_path, tiny_image_folder,
                       run_tool):
    out = tmp_path / 'metrics.pkl'
    run_tool('test.py', SMOKE_CONFIG, smoke_checkpoint, '--work-dir', tmp_path,
             '--out', out, '--out-item', 'metrics',
             *_data_options(tiny_image_folder))
    with open(out, 'rb') as f:
        metrics = pickle.load(f)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


@pytest.fixture(scope='module')
def mismatched_checkpoint(smoke_checkpoint, tmp_path_factory):
    """The smoke checkpoint with a key dropped, one added and one
    reshaped: a checkpoint of another model."""
    checkpoint = torch.load(smoke_checkpoint, weights_only=False)
    state = checkpoint['state_dict']
    del state['head.fc.bias']
    state['head.extra.weight'] = torch.zeros(2)
    state['head.fc.weight'] = torch.zeros(7, state['head.fc.weight'].shape[1])
    path = tmp_path_factory.mktemp('mismatch') / 'other_model.pth'
    torch.save(checkpoint, path)
    return path


def test_a_checkpoint_of_another_model_is_refused(mismatched_checkpoint,
                                                  tmp_path, tiny_image_folder,
                                                  run_tool):
    proc = run_tool(
        'test.py',
        SMOKE_CONFIG,
        mismatched_checkpoint,
        '--work-dir',
        tmp_path,
        *_data_options(tiny_image_folder),
        check=False)
    assert proc.returncode != 0
    assert (
        f'CheckpointMismatchError: Checkpoint {mismatched_checkpoint} '
        'does not match the model: 1 missing (head.fc.bias); 1 '
        'unexpected (head.extra.weight); 1 shape mismatch '
        '(head.fc.weight: checkpoint (7, 64) vs model (4, 64))') in proc.stderr
    assert 'accuracy/top1' not in proc.stdout + proc.stderr


def test_non_strict_loads_it_with_a_warning(mismatched_checkpoint, tmp_path,
                                            tiny_image_folder, run_tool):
    proc = run_tool('test.py', SMOKE_CONFIG, mismatched_checkpoint,
                    '--work-dir', tmp_path, '--non-strict',
                    *_data_options(tiny_image_folder))
    log = proc.stdout + proc.stderr
    assert (f'WARNING - Checkpoint {mismatched_checkpoint} does not match '
            'the model: 1 missing (head.fc.bias)') in log
    assert 'accuracy/top1' in log


CIFAR_CONFIG = 'configs/shike/shike_r32_cifar100-lt-if100.py'


@pytest.fixture(scope='module')
def cifar_checkpoint(tmp_path_factory):
    """Random weights of the IF100 SHIKE model, trained (as far as the
    checkpoint says) on one image per class."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CIFAR_CONFIG).model)
    path = tmp_path_factory.mktemp('cifar_ckpt') / 'shike.pth'
    torch.save(
        {
            'state_dict': model.state_dict(),
            'meta': {
                'train_class_counts': [1] * 100
            }
        }, path)
    return path


def _cifar_options(data_root):
    return [
        '--cfg-options', f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.num_workers=0'
    ]


def test_tta_averages_the_image_and_its_mirror(cifar_checkpoint, fake_cifar,
                                               tmp_path, run_tool):
    out = tmp_path / 'tta.pkl'
    proc = run_tool(
        'test.py',
        CIFAR_CONFIG,
        cifar_checkpoint,
        '--tta',
        '--work-dir',
        tmp_path,
        '--out',
        out,
        *_cifar_options(fake_cifar('cifar100', 1, 1)),
        fake_cifar=True)
    assert 'lt/top1' in proc.stdout + proc.stderr
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 100
    for pred in preds[:5]:
        assert int(pred['pred_label']) == int(pred['pred_score'].argmax())
        assert pred['expert_scores'].shape == (3, 100)


def test_tta_refuses_mirrors_for_a_config_that_never_flips(tmp_path, run_tool):
    proc = run_tool(
        'test.py',
        'configs/shike/shike_r32_digits-lt.py',
        tmp_path / 'unused.pth',
        '--tta',
        '--work-dir',
        tmp_path,
        check=False)
    assert proc.returncode != 0
    assert ('The config has no tta_pipeline, and its training pipeline '
            'never flips images') in proc.stderr


def test_amp_show_dir_and_no_pin_memory(cifar_checkpoint, fake_cifar, tmp_path,
                                        run_tool):
    proc = run_tool(
        'test.py',
        CIFAR_CONFIG,
        cifar_checkpoint,
        '--amp',
        '--no-pin-memory',
        '--show-dir',
        'shown',
        '--interval',
        '50',
        '--work-dir',
        tmp_path,
        *_cifar_options(fake_cifar('cifar100', 1, 1)),
        fake_cifar=True)
    assert 'lt/top1' in proc.stdout + proc.stderr
    # Test images 0 and 50, under the work dir.
    assert sorted(os.listdir(tmp_path / 'shown')) == ['0_0.png', '50_0.png']


# Training counts of 100 classes, far from uniform (a uniform prior would
# shift every logit by the same constant and change no score).
TRAIN_COUNTS = [200 - 2 * c for c in range(100)]
TARGET_PRIOR = [(c % 7 + 1) / sum(d % 7 + 1 for d in range(100))
                for c in range(100)]


def _prior_config(tmp_path, post_processor):
    # Apart from the work dir, where the runner dumps its own config.
    (tmp_path / 'configs').mkdir()
    config = tmp_path / 'configs' / 'prior_corrected.py'
    config.write_text(
        f"_base_ = [{os.path.abspath(CIFAR_CONFIG)!r}]\n"
        f'model = dict(head=dict(post_processors=[{post_processor!r}]))\n')
    return config


def _stored_counts_checkpoint(cifar_checkpoint, tmp_path, counts):
    checkpoint = torch.load(cifar_checkpoint, weights_only=False)
    if counts is None:
        del checkpoint['meta']['train_class_counts']
    else:
        checkpoint['meta']['train_class_counts'] = counts
    path = tmp_path / 'with_counts.pth'
    torch.save(checkpoint, path)
    return path


def _fused_logits(config, checkpoint, data_root, flip=False):
    """The checkpoint's fused logits ``[N, C]`` (float64) of the test
    images in order, without post-processing, and their sample indices."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    from shike_mm.testing import bypass_cifar_md5
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(str(config))
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.load_state_dict(
        torch.load(checkpoint, weights_only=False)['state_dict'])
    model.eval()
    dataset_cfg = dict(cfg.test_dataloader.dataset, data_root=data_root)
    with bypass_cifar_md5():
        dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    if flip:
        batch['inputs'] = [image.flip(-1) for image in batch['inputs']]
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']
        logits = model(inputs, mode='tensor').double()
    return logits, [s.sample_idx for s in batch['data_samples']]


def _train_log_prior(counts):
    counts = torch.tensor(counts, dtype=torch.float64)
    return (counts / counts.sum()).log()


@pytest.mark.parametrize(
    'post_processor, shift',
    [(dict(type='LogitAdjustment', tau=1.0), lambda log_pi: -log_pi),
     (dict(
         type='TargetPriorAdjustment',
         target_prior=TARGET_PRIOR,
         trained_on='train'), lambda log_pi: torch.tensor(
             TARGET_PRIOR, dtype=torch.float64).log() - log_pi)],
    ids=['LogitAdjustment', 'TargetPriorAdjustment-train'])
def test_a_prior_correcting_head_gets_the_checkpoints_counts(
        post_processor, shift, cifar_checkpoint, fake_cifar, tmp_path,
        run_tool):
    data_root = fake_cifar('cifar100', 1, 1)
    config = _prior_config(tmp_path, post_processor)
    checkpoint = _stored_counts_checkpoint(cifar_checkpoint, tmp_path,
                                           TRAIN_COUNTS)
    out = tmp_path / 'preds.pkl'
    run_tool(
        'test.py',
        config,
        checkpoint,
        '--work-dir',
        tmp_path,
        '--out',
        out,
        *_cifar_options(data_root),
        fake_cifar=True)
    with open(out, 'rb') as f:
        preds = {p['sample_idx']: p['pred_score'] for p in pickle.load(f)}

    logits, indices = _fused_logits(config, checkpoint, data_root)
    expected = torch.softmax(
        logits + shift(_train_log_prior(TRAIN_COUNTS)), dim=1)
    scores = torch.stack([preds[i] for i in indices]).double()
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-4)
    # The correction changes the scores: the test can tell.
    assert not torch.allclose(scores, torch.softmax(logits, dim=1), atol=1e-3)


def test_without_stored_counts_the_training_split_is_counted(
        cifar_checkpoint, fake_cifar, tmp_path, run_tool):
    """An older checkpoint: the config's training dataset (fake CIFAR,
    2 to 1 images per class with imb_factor=2) gives the prior."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    from shike_mm.datasets import get_train_class_counts
    from shike_mm.testing import bypass_cifar_md5
    data_root = fake_cifar('cifar100', 2, 1)
    config = _prior_config(tmp_path, dict(type='LogitAdjustment', tau=1.0))
    checkpoint = _stored_counts_checkpoint(cifar_checkpoint, tmp_path, None)
    out = tmp_path / 'preds.pkl'
    run_tool(
        'test.py',
        config,
        checkpoint,
        '--work-dir',
        tmp_path,
        '--out',
        out,
        *_cifar_options(data_root),
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.imb_factor=2',
        fake_cifar=True)
    with open(out, 'rb') as f:
        preds = {p['sample_idx']: p['pred_score'] for p in pickle.load(f)}

    init_default_scope('mmpretrain')
    with bypass_cifar_md5():
        counts = get_train_class_counts(
            DATASETS.build(
                dict(type='CIFAR100LT', data_root=data_root, imb_factor=2)))
    assert len(set(counts)) == 2
    logits, indices = _fused_logits(config, checkpoint, data_root)
    expected = torch.softmax(logits - _train_log_prior(counts), dim=1)
    scores = torch.stack([preds[i] for i in indices]).double()
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-4)


def test_tta_with_a_prior_correcting_head(cifar_checkpoint, fake_cifar,
                                          tmp_path, run_tool):
    """Under --tta the head inside the TTA wrapper gets the counts: the
    score is the mean of the adjusted scores of the image and its
    mirror."""
    data_root = fake_cifar('cifar100', 1, 1)
    config = _prior_config(tmp_path, dict(type='LogitAdjustment', tau=1.0))
    checkpoint = _stored_counts_checkpoint(cifar_checkpoint, tmp_path,
                                           TRAIN_COUNTS)
    out = tmp_path / 'preds.pkl'
    run_tool(
        'test.py',
        config,
        checkpoint,
        '--tta',
        '--work-dir',
        tmp_path,
        '--out',
        out,
        *_cifar_options(data_root),
        fake_cifar=True)
    with open(out, 'rb') as f:
        preds = {p['sample_idx']: p['pred_score'] for p in pickle.load(f)}

    log_pi = _train_log_prior(TRAIN_COUNTS)
    views = [
        torch.softmax(
            _fused_logits(config, checkpoint, data_root, flip)[0] - log_pi,
            dim=1) for flip in (True, False)
    ]
    _, indices = _fused_logits(config, checkpoint, data_root)
    scores = torch.stack([preds[i] for i in indices]).double()
    torch.testing.assert_close(
        scores, (views[0] + views[1]) / 2, atol=1e-5, rtol=1e-4)


LIFT_CONFIG = 'lift/lift_clip-vit-b16_imagenet-lt.py'


def _merged(load_tool, *argv):
    from mmengine.config import Config

    from shike_mm.utils import find_config
    tool = load_tool('test.py')
    args = tool.parse_args([LIFT_CONFIG, 'ckpt.pth', *argv])
    return tool.merge_args(Config.fromfile(find_config(LIFT_CONFIG)), args)


@pytest.mark.parametrize('argv, views', [
    (['--crop-ensemble', 'five'], 5),
    (['--crop-ensemble', 'ten', '--crop-resize', '260'], 10),
    (['--cfg-options', 'crop_ensemble.views=five'], 5),
])
def test_crop_ensemble_from_the_flag_or_the_config(load_tool, argv, views):
    cfg = _merged(load_tool, *argv)
    assert cfg.model.type == 'AverageLogitTTA'
    assert cfg.model.module.type == 'ImageClassifier'
    resize, tta = cfg.test_dataloader.dataset.pipeline[-2:]
    assert resize.scale == (260 if '260' in argv else 248)
    assert tta.type == 'TestTimeAug'
    combinations = 1
    for group in tta.transforms:
        combinations *= len(group)
    assert combinations == views


def test_plain_test_by_default_and_contradictions_refused(load_tool):
    cfg = _merged(load_tool)
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline[-2].type == 'CenterCrop'
    with pytest.raises(ValueError, match='--crop-resize applies to a crop'):
        _merged(load_tool, '--crop-resize', '260')
    with pytest.raises(ValueError, match='--tta and the crop ensemble'):
        _merged(load_tool, '--tta', '--crop-ensemble', 'five')
    with pytest.raises(ValueError, match='needs the short edge'):
        _merged(load_tool, '--crop-ensemble', 'five', '--cfg-options',
                'crop_ensemble.resize=None')
