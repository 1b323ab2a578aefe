"""MMEngine's checkpoint hook with checkpoints that are whole or absent."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

from shike_mm.utils.checkpoint_files import (LAST_CHECKPOINT,
                                             remove_partial_files, whole_file,
                                             write_text_whole)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints as MMEngine's ``CheckpointHook`` does, but never
    lose the previous one.

    MMEngine's hook deletes the outdated checkpoint (``max_keep_ckpts``) or
    the previous best one before it writes the next, in place: a kill or a
    full disk during that write leaves a partial file and nothing that
    loads. With the local file backend this hook writes every checkpoint
    (periodic, best and last) and ``last_checkpoint`` under a temporary name
    in the same folder, fsyncs and renames it
    (:func:`~shike_mm.utils.checkpoint_files.whole_file`), and removes the
    outdated file only afterwards. On a full disk the run stops with a
    :class:`~shike_mm.utils.checkpoint_files.CheckpointWriteError` naming
    the file and the free space; the previous checkpoint stays. Partial
    files an interrupted save left behind are removed, with a warning, when
    training starts.

    Only rank 0 writes, as in MMEngine. With another file backend
    (``out_dir`` on a remote store, ``backend_args``) or another runner
    than MMEngine's ``Runner``, it saves exactly as ``CheckpointHook`` does
    and says so in a warning.

    Args:
        **kwargs: The arguments of MMEngine's ``CheckpointHook``
            (``interval``, ``max_keep_ckpts``, ``save_best``, ...).
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        backend = getattr(self.file_backend, 'client', self.file_backend)
        self.whole_files = isinstance(backend, LocalBackend) and isinstance(
            runner, Runner)
        if not self.whole_files:
            runner.logger.warning(
                f'Checkpoints go to {self.out_dir} through '
                f'{type(backend).__name__} ({type(runner).__name__}): saved '
                "as MMEngine's CheckpointHook does, in place and after the "
                'previous one is removed, so a kill or a full disk during a '
                'save can lose it. Only the local file backend writes them '
                'whole.')
            return
        if is_main_process():
            removed = remove_partial_files(self.out_dir)
            if removed:
                runner.logger.warning(
                    'Removed what an interrupted save left behind (never a '
                    f'whole checkpoint): {", ".join(removed)}')

    def _write(self,
               runner,
               filename: str,
               kept: Optional[str] = None,
               **kwargs) -> None:
        """``runner.save_checkpoint`` to ``filename`` in ``out_dir``,
        whole or not at all; ``kept`` names the file that stays valid."""
        if not is_main_process():
            return  # Runner.save_checkpoint writes on rank 0 only
        path = self.file_backend.join_path(self.out_dir, filename)
        with whole_file(path, kept) as partial:
            runner.save_checkpoint(
                self.out_dir,
                osp.relpath(partial, self.out_dir),
                self.file_client_args,
                backend_args=self.backend_args,
                **kwargs)

    def _remove(self, path: str) -> bool:
        """Remove ``path`` on rank 0; whether it was there."""
        if is_main_process() and self.file_backend.isfile(path):
            self.file_backend.remove(path)
            return True
        return False

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self.whole_files:
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            # Saved in the checkpoint: the list as it is once it is written.
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        path = self.file_backend.join_path(self.out_dir, filename)
        # The file last_checkpoint names until this one is written (also
        # after a resume, which restores the message hub).
        previous = runner.message_hub.runtime_info.get('last_ckpt')
        runner.message_hub.update_info('last_ckpt', path)
        self._write(
            runner,
            filename,
            previous,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            **self.args)
        self.last_ckpt = path
        if is_main_process():
            write_text_whole(
                self.file_backend.join_path(runner.work_dir, LAST_CHECKPOINT),
                path, previous)
        if outdated is not None and outdated != step:
            self._remove(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(outdated)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.whole_files:
            return super()._save_best_checkpoint(runner, metrics)
        if not self.save_best:
            return
        step = runner.epoch if self.by_epoch else runner.iter
        ckpt_filename = self.filename_tmpl.format(step)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        best_ckpt_updated = False
        single = len(self.key_indicators) == 1
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            suffix = '' if single else f'_{key_indicator}'
            best_score_key = f'best_score{suffix}'
            best_ckpt_key = f'best_ckpt{suffix}'
            key_score = metrics[key_indicator]
            best_score = runner.message_hub.runtime_info.get(
                best_score_key, self.init_value_map[rule])
            if key_score is None or not self.is_better_than[key_indicator](
                    key_score, best_score):
                continue
            best_ckpt_updated = True
            runner.message_hub.update_info(best_score_key, key_score)

            previous = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict[key_indicator]
            best_ckpt_name = f'best_{key_indicator}_{ckpt_filename}'.replace(
                '/', '_')
            path = self.file_backend.join_path(self.out_dir, best_ckpt_name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            runner.message_hub.update_info(best_ckpt_key, path)
            self._write(
                runner,
                best_ckpt_name,
                previous,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=dict(meta),
                by_epoch=False)
            if previous and previous != path and self._remove(previous):
                runner.logger.info(
                    f'The previous best checkpoint {previous} is removed')
            runner.logger.info(
                f'The best checkpoint with {key_score:0.4f} {key_indicator} '
                f'at {step} {"epoch" if self.by_epoch else "iter"} is saved '
                f'to {best_ckpt_name}.')

        # As MMEngine does: save the periodic checkpoint again, so that the
        # best score and file it records are the new ones.
        if best_ckpt_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)
