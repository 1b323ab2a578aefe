"""find_config: paths, shipped names, and bare file names looked up in the
shipped configs only."""
import pytest

from shike_mm.utils import config as config_module
from shike_mm.utils import find_config


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout whose configs/ holds shike/a.py and, twice, b.py; its
    work_dirs/ and build/ hold copies of a.py, as training and a wheel
    build leave them."""
    configs = tmp_path / 'configs'
    for path in ('shike/a.py', 'shike/b.py', 'other/b.py',
                 '../work_dirs/run/a.py',
                 '../build/lib/shike_mm/.mim/configs/shike/a.py'):
        (configs / path).parent.mkdir(parents=True, exist_ok=True)
        (configs / path).write_text('')
    monkeypatch.setattr(config_module, 'CONFIG_ROOTS', (str(configs), ))
    monkeypatch.chdir(tmp_path / 'work_dirs')
    return configs


def test_a_bare_name_takes_the_shipped_config_and_says_so(
        checkout, monkeypatch):
    logged = []
    monkeypatch.setattr(config_module, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    assert find_config('a.py') == str(checkout / 'shike' / 'a.py')
    assert logged == [
        f'Config a.py: using {checkout}/shike/a.py (the shipped configs '
        'only, not work dirs)'
    ]
    assert find_config('shike_mm::a.py') == str(checkout / 'shike' / 'a.py')


def test_a_bare_name_of_two_shipped_configs_is_refused(checkout):
    with pytest.raises(
            ValueError,
            match='Config name b.py matches 2 shipped '
            'configs: .*other/b.py, .*shike/b.py; give its path'):
        find_config('b.py')


def test_paths_and_relative_names_resolve_as_before(checkout):
    assert find_config('shike/b.py') == str(checkout / 'shike' / 'b.py')
    assert find_config('configs/other/b.py') == str(checkout / 'other' /
                                                    'b.py')
    assert find_config('run/a.py') == 'run/a.py'  # an existing path
    with pytest.raises(FileNotFoundError, match='Config c.py not found'):
        find_config('c.py')


def test_the_real_shipped_digits_config_by_bare_name():
    assert find_config('shike_r32_digits-lt.py') == find_config(
        'shike/shike_r32_digits-lt.py')


def test_metric_configs_of_one_metric_or_a_list():
    accuracy, metric = dict(type='Accuracy'), dict(type='LongTailMetric')
    assert config_module.metric_configs(accuracy) == [accuracy]
    assert config_module.metric_configs([accuracy,
                                         metric]) == [accuracy, metric]
    assert config_module.metric_configs((metric, )) == [metric]
