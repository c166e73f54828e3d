"""Demo conversation campaigns in Vietnamese: rate a 6-turn chat, write the next turns, rank the siblings.

``campaigns`` is a generator: the demo loader creates each campaign before asking for the next, so the
ranking campaign can name the writing campaign it is fed by (``source_campaign``).
"""
from __future__ import annotations

from tasks.types.base import DemoCampaign

WRITE_DEMO_NAME = "Viết tiếp hội thoại (cây hội thoại)"

TRIP = [
    {"role": "user", "content": "Mình định đi Đà Lạt 3 ngày vào tháng 12, nên chuẩn bị gì?"},
    {"role": "assistant", "content": "Tháng 12 Đà Lạt lạnh, đêm có thể xuống 10–12 °C. Bạn nên mang áo khoác ấm, "
                                     "khăn quàng, giày đi bộ và đặt phòng sớm vì đây là mùa hoa dã quỳ, khá đông khách."},
    {"role": "user", "content": "Đi từ Sài Gòn thì nên đi xe khách hay máy bay?"},
    {"role": "assistant", "content": "Máy bay mất khoảng 50 phút đến sân bay Liên Khương, rồi 30 phút vào thành phố. "
                                     "Xe khách giường nằm mất 7–8 tiếng, rẻ hơn và có chuyến đêm."},
    {"role": "user", "content": "Có món gì nhất định phải ăn không?"},
    {"role": "assistant", "content": "Nên thử bánh căn, lẩu gà lá é và sữa đậu nành nóng ở chợ đêm. Đà Lạt còn nổi "
                                     "tiếng với món phở bò viên biển, được UNESCO công nhận năm 2019."},
]

HEALTH = [
    {"role": "user", "content": "Con tôi 5 tuổi bị ho khan mấy hôm nay, có nên cho uống kháng sinh không?"},
    {"role": "assistant", "content": "Không nên tự cho trẻ uống kháng sinh: ho khan thường do virus, kháng sinh không "
                                     "có tác dụng. Cho bé uống đủ nước ấm, giữ ấm cổ và theo dõi."},
    {"role": "user", "content": "Khi nào thì cần đưa bé đi khám?"},
    {"role": "assistant", "content": "Đưa bé đi khám nếu bé sốt cao trên 39 °C, thở nhanh hoặc khó thở, ho kéo dài "
                                     "quá 2 tuần, hoặc bỏ ăn, li bì."},
    {"role": "user", "content": "Cho bé uống mật ong được không?"},
    {"role": "assistant", "content": "Với trẻ trên 1 tuổi, một thìa nhỏ mật ong pha nước ấm có thể làm dịu ho. "
                                     "Không cho trẻ dưới 1 tuổi dùng mật ong."},
]


def campaigns(base: dict):
    yield DemoCampaign(
        name="Đánh giá từng lượt trả lời trong hội thoại",
        config={**base, "mode": "rate"},
        instructions=(
            "## Hướng dẫn\n\nĐọc cả cuộc hội thoại. Với **mỗi lượt trả lời của trợ lý**, chấm điểm 1–5 "
            "(độ đúng, hữu ích) và đánh dấu nếu câu trả lời **không an toàn**, **bịa đặt** (thông tin sai) hoặc "
            "**sai ngôn ngữ**.\n\n**Ví dụ:** \"Phở bò viên biển được UNESCO công nhận\" là thông tin bịa đặt."
        ),
        items=[{"payload": {"tree_id": "demo-dalat", "messages": TRIP}},
               {"payload": {"tree_id": "demo-ho", "messages": HEALTH}}],
        extra={"overlap": 3},
    )
    yield DemoCampaign(
        name=WRITE_DEMO_NAME,
        config={**base, "mode": "write", "max_turns": 6},
        instructions=(
            "## Hướng dẫn\n\nViết **lượt tiếp theo** của cuộc hội thoại: trả lời như một trợ lý giỏi, trung thực "
            "khi lượt trước là của người dùng; hỏi tiếp một câu tự nhiên khi lượt trước là của trợ lý. Tự viết, "
            "tiếng Việt có dấu. Mỗi tin nhắn nhận vài câu trả lời từ những người khác nhau."
        ),
        items=[{"payload": {"tree_id": f"demo-write-{k}", "messages": [{"role": "user", "content": text, "id": f"demo-write-{k}"}]}}
               for k, text in enumerate([
                   "Làm sao để tiết kiệm tiền khi mới đi làm, lương 8 triệu một tháng?",
                   "Giải thích giúp mình vì sao trời mưa thì có cầu vồng.",
               ])],
        extra={"overlap": 2},
    )
    from tasks.models import Campaign

    source = Campaign.objects.filter(task_type="conversation", name=WRITE_DEMO_NAME).order_by("-id") \
        .values_list("id", flat=True).first()
    yield DemoCampaign(
        name="Xếp hạng các câu trả lời thay thế (cây hội thoại)",
        config={**base, "mode": "rank", "source_campaign": source},
        instructions="## Hướng dẫn\n\nCùng một tin nhắn có nhiều câu trả lời. Xếp hạng từ tốt nhất (1) đến kém nhất.",
        items=[{"payload": {"tree_id": "demo-rank", "messages": [
            {"role": "user", "content": "Viết một câu chúc mừng sinh nhật ngắn cho đồng nghiệp.", "id": "demo-rank"}],
            "responses": [
                {"text": "Chúc anh/chị tuổi mới nhiều sức khoẻ, công việc thuận lợi và luôn vui vẻ!", "id": "demo-rank-a"},
                {"text": "Sinh nhật vui vẻ.", "id": "demo-rank-b"},
                {"text": "Happy birthday!!! 🎂", "id": "demo-rank-c"}]}}],
    )
