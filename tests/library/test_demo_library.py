"""`make run`'s demo program has a library: approved resources (one for the whole program), one waiting, one
returned with a note, and the Principals cohort's final product; a second run adds nothing."""
from sqlalchemy import func, select

from lti_tool.db import db
from lti_tool.library.models import Collection, Resource, ResourceVersion, VersionStatus, Visibility
from tests.test_demo import _setup


def test_the_demo_has_a_library_and_a_final_product(app):
    _setup(app)
    _setup(app)
    with app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Resource)) == 5
        statuses = sorted(v.value for v in s.scalars(select(ResourceVersion.status)))
        assert statuses == ["approved", "approved", "approved", "returned", "submitted"]
        assert s.scalar(select(func.count()).select_from(Resource).where(Resource.visibility == Visibility.program)) == 1
        [product] = s.scalars(select(Collection)).all()
        assert len(product.items) == 3 and all(i.resource.approved_version.status is VersionStatus.approved
                                               for i in product.items)
