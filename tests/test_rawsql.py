"""core.rawsql.fetch_one builds the same instance the ORM would (JSON decoded, dates aware), on either database."""
import pytest

from core.rawsql import fetch_one
from tasks.models import Campaign


@pytest.mark.django_db
def test_fetch_one_matches_the_orm_field_by_field(make_campaign):
    campaign = make_campaign(region_quotas={"north": 40, "central": 30, "south": 30}, overlap=3)
    fetched = fetch_one(Campaign, "t.id = %s", [campaign.pk], extra={"answer": "41 + 1"})
    loaded = Campaign.objects.get(pk=campaign.pk)
    for field in Campaign._meta.concrete_fields:
        assert getattr(fetched, field.attname) == getattr(loaded, field.attname), field.name
    assert isinstance(fetched.config, dict) and fetched.region_quotas == {"north": 40, "central": 30, "south": 30}
    assert fetched.created_at.tzinfo is not None and fetched.answer == 42
    assert not fetched._state.adding and fetched.get_deferred_fields() == set()
    assert fetch_one(Campaign, "t.id = %s", [campaign.pk + 1000]) is None


@pytest.mark.django_db
def test_fetch_joined_reads_several_models_in_one_row_and_none_for_an_outer_join_miss(make_campaign, make_contributor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workqueue.selectors import queue_context

    campaign = make_campaign(overlap=1)
    user = make_contributor()
    with CaptureQueriesContext(connection) as queries:
        got_user, profile, got_campaign = queue_context(user.pk, campaign.pk)
    assert len(queries) == 1 and "tasks_campaign" in queries[0]["sql"]  # one statement, shown in Django's query log
    assert got_user.pk == user.pk and got_user.password == user.password
    assert profile.user_id == user.pk and profile._email_verified is True and profile.user is got_user
    assert got_campaign.pk == campaign.pk and got_campaign.config == campaign.config
    campaign.status = "paused"
    campaign.save(update_fields=["status"])
    assert queue_context(user.pk, campaign.pk)[2] is None  # only a campaign open for work
    assert queue_context(user.pk + 10_000, campaign.pk) is None


@pytest.mark.django_db
def test_prepared_cursor_has_postgresql_plan_a_statement_once_per_connection():
    from django.db import connection

    from core.rawsql import prepared_cursor

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    sql = "SELECT %(n)s::int * 2 /* prepared_cursor test */"
    for n in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(sql, {"n": n})
            assert cursor.fetchone() == (n * 2,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared_cursor test%"])
        # Once per connection; never with DB_PREPARED_STATEMENTS=0 (a pooler that cannot keep them).
        assert cursor.fetchone()[0] == (0 if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None else 1)


@pytest.mark.django_db
def test_fetch_joined_reads_only_the_fields_a_part_names_and_defers_the_rest(make_campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.rawsql import fetch_joined

    campaign = make_campaign(instructions="Đọc kỹ hướng dẫn", overlap=2)
    with CaptureQueriesContext(connection) as queries:
        (got,) = fetch_joined([(Campaign, "c", ("id", "task_type", "config"))], "FROM tasks_campaign c WHERE c.id = %s",
                              [campaign.pk])
    assert "instructions" not in queries[0]["sql"]
    assert got.task_type == "moderation" and got.config == campaign.config
    assert "instructions" in got.get_deferred_fields() and "overlap" in got.get_deferred_fields()
    with CaptureQueriesContext(connection) as later:
        assert got.instructions == "Đọc kỹ hướng dẫn"  # read when touched, as with the ORM's only()
    assert len(later) == 1
