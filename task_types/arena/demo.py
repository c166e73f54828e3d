"""Demo arena campaigns in Vietnamese: three made-up models answer everyday prompts in four categories."""
from __future__ import annotations

from tasks.types.base import DemoCampaign

# (category, prompt, {model: response}); "sen-13b" is the strongest by design, "lua-3b" the weakest.
PROMPTS = [
    ("Sức khoẻ", "Trẻ 2 tuổi bị sốt 38,5 độ, cha mẹ nên làm gì trước tiên?", {
        "sen-13b": "Cho bé mặc thoáng, uống đủ nước hoặc sữa, lau người bằng nước ấm và theo dõi nhiệt độ. "
                   "Có thể dùng paracetamol đúng liều theo cân nặng. Đưa bé đi khám ngay nếu bé li bì, co giật, "
                   "khó thở hoặc sốt trên 2 ngày.",
        "mai-7b": "Cho bé uống hạ sốt paracetamol và theo dõi thêm, nếu không đỡ thì đi khám.",
        "lua-3b": "Đắp chăn thật dày cho bé ra mồ hôi là hết sốt.",
    }),
    ("Sức khoẻ", "Uống bao nhiêu nước mỗi ngày là đủ với người lớn?", {
        "sen-13b": "Khoảng 1,5–2 lít mỗi ngày với người lớn khoẻ mạnh, nhiều hơn khi trời nóng hoặc vận động. "
                   "Nước tiểu vàng nhạt là dấu hiệu cơ thể đủ nước.",
        "mai-7b": "Khoảng 2 lít mỗi ngày.",
        "lua-3b": "Càng nhiều càng tốt, nên uống 6 lít mỗi ngày.",
    }),
    ("Văn hoá", "Tết Đoan Ngọ của người Việt diễn ra vào ngày nào và có phong tục gì?", {
        "sen-13b": "Tết Đoan Ngọ vào mùng 5 tháng 5 âm lịch, còn gọi là Tết diệt sâu bọ. Người ta ăn rượu nếp, "
                   "hoa quả chua vào sáng sớm và hái lá thuốc giữa trưa.",
        "mai-7b": "Ngày 5/5 âm lịch, người ta ăn rượu nếp và trái cây.",
        "lua-3b": "Tết Đoan Ngọ là ngày 15 tháng 8 âm lịch, trẻ em rước đèn ông sao.",
    }),
    ("Văn hoá", "Giải thích câu tục ngữ 'Uống nước nhớ nguồn'.", {
        "sen-13b": "Câu tục ngữ nhắc ta biết ơn những người đã tạo ra thành quả mình đang hưởng: tổ tiên, cha mẹ, "
                   "thầy cô và những thế hệ đi trước.",
        "mai-7b": "Khi uống nước phải nhớ nước từ đâu đến, nghĩa là phải biết ơn.",
        "lua-3b": "Nên uống nước suối vì nước suối sạch hơn nước máy.",
    }),
    ("Lập trình", "Trong Python, làm sao đảo ngược một danh sách?", {
        "sen-13b": "Dùng `ds.reverse()` để đảo tại chỗ, hoặc `ds[::-1]` / `list(reversed(ds))` để tạo danh sách mới.",
        "mai-7b": "Dùng `ds[::-1]`.",
        "lua-3b": "Python không đảo ngược được danh sách, phải tự viết vòng lặp bằng C.",
    }),
    ("Toán", "Một cửa hàng giảm giá 20% rồi giảm tiếp 10% trên giá đã giảm. Tổng cộng giảm bao nhiêu phần trăm?", {
        "sen-13b": "Giá còn lại 0,8 × 0,9 = 0,72 giá gốc, nên tổng cộng giảm 28%, không phải 30%.",
        "mai-7b": "Giảm 28%.",
        "lua-3b": "Giảm 30% vì 20 + 10 = 30.",
    }),
]


def campaigns(base: dict) -> list[DemoCampaign]:
    items = [{"payload": {"prompt": prompt, "category": category,
                          "responses": [{"model": m, "text": t} for m, t in answers.items()]}}
             for category, prompt, answers in PROMPTS]
    instructions = (
        "## Hướng dẫn\n\nĐọc câu hỏi và hai câu trả lời **ẩn danh** (bạn không biết mô hình nào viết). "
        "Chọn câu trả lời **tốt hơn** về độ đúng, hữu ích và an toàn; độ dài không phải là tiêu chí. "
        "Phím tắt: **A**, **B**, **T** (ngang nhau), **X** (cả hai đều kém).\n\n"
        "**Ví dụ:** hỏi \"20% rồi 10% là giảm bao nhiêu?\" — \"28%\" đúng hơn \"30%\"."
    )
    return [
        DemoCampaign(name="So sánh mô hình ẩn danh (đấu trường)", config=base, instructions=instructions,
                     items=items, extra={"overlap": 5}),
        DemoCampaign(name="Xếp hạng câu trả lời của các mô hình (đấu trường)", config={**base, "mode": "ranking"},
                     instructions="## Hướng dẫn\n\nXếp hạng các câu trả lời ẩn danh từ tốt nhất (1) đến kém nhất.",
                     items=items[:3]),
    ]
