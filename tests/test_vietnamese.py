"""The platform's one Vietnamese-text module (core.vietnamese): the pages' warnings and authenticity agree."""
import pytest

from core.vietnamese import has_vietnamese_diacritics, is_stripped_vietnamese, is_vietnamese, vietnamese_share


@pytest.mark.parametrize("text", ["con meo an ca", "anh yeu em", "toi khong biet ban co duoc khong",
                                  "Hôm nay trời đẹp", "Tiếng Việt"])
def test_vietnamese_with_or_without_marks(text):
    assert is_vietnamese(text)


@pytest.mark.parametrize("text", ["The quick brown fox jumps over the lazy dog", "ok 123", "", "I do not know"])
def test_not_vietnamese(text):
    assert not is_vietnamese(text)


def test_stripped_means_vietnamese_without_marks():
    assert is_stripped_vietnamese("con meo an ca") and is_stripped_vietnamese("anh yeu em")
    assert not is_stripped_vietnamese("Con mèo ăn cá")
    assert has_vietnamese_diacritics("đi") and not has_vietnamese_diacritics("di")
    assert vietnamese_share("Tiếng Việt") > 0.2 and vietnamese_share("English text") == 0.0
