"""Great Expectations' Data Docs views with their Jinja templates compiled once a process.

GX builds a Jinja environment for every view it makes, and it makes a view for every site section
of every data context; a run judges each table (and each province's share) in a context of its
own, so the same templates were compiled again for every table: about 2.4 s of a city run. These
views are GX's own (the ``view`` setting of a site section or index builder, documented in
``SiteBuilder``); each shares the first environment made in the process. Their filters keep no
state of a view: ours pass no custom styles or views folder.
GX 数据文档视图：模板每进程编译一次。
"""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

# the first environment of each view class made in this process
_ENVIRONMENTS: dict[type, object] = {}


class _CompiledOnce:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env = _ENVIRONMENTS.setdefault(type(self), self.env)


class PageView(_CompiledOnce, DefaultJinjaPageView):
    """A table's suite and validation pages."""


class IndexPageView(_CompiledOnce, DefaultJinjaIndexPageView):
    """The site's index page."""


def site_config(docs_dir) -> dict:
    """A Data Docs site in ``docs_dir`` whose sections and index use these views."""
    view = {"module_name": __name__, "class_name": PageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": IndexPageView.__name__},
        },
        "site_section_builders": {section: {"view": view} for section in ("expectations", "validations", "profiling")},
    }
