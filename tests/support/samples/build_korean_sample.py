# ruff: noqa: E501  (sentence banks: one Korean sentence a line reads better than wrapped)
"""Generate the bundled Korean sample ChatGPT export, deterministically.

    python -m tests.support.samples.build_korean_sample

writes ``korean_export.json`` (the export) and ``korean_export_labels.json`` (conversation id
-> topic) in ``graphnode/samples/``, which ships them; every choice comes from one
``random.Random(11)``, ids included, so the same code always writes the same bytes.

Eight planted topics, ten conversations each, written as Korean speakers write to a chat
assistant: real spacing and particles (서울에서, 보증금은), verb endings of both registers
(해요, 합니다, 했어), English loanwords and Latin terms mixed in (ETF, pandas, GPS), a fenced
code block in the programming topic, and small talk that belongs to no topic (안녕하세요,
고마워요 ㅋㅋ, 좋은 질문이에요) at the start and the end of many conversations. A topic is a
bank of threads (title and opening question) and of answer sentences and follow-up questions;
each conversation draws its own mix, so no two conversations of a topic share their text.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.samples.build_chatgpt_sample import write

SEED = 11
#: Where the bundled samples live: the package ships the data, not this generator.
HERE = Path(__file__).resolve().parents[3] / "graphnode" / "samples"
EXPORT_PATH = HERE / "korean_export.json"
LABELS_PATH = HERE / "korean_export_labels.json"
CONVERSATIONS_PER_TOPIC = 10
PERIOD_START = datetime(2025, 3, 1, tzinfo=UTC).timestamp()
PERIOD_END = datetime(2025, 10, 31, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Topic:
    key: str
    threads: tuple[tuple[str, str], ...]  # (title, opening question)
    answers: tuple[str, ...]  # sentences true of the topic, drawn into answers
    followups: tuple[str, ...]  # follow-up questions
    code: str | None = None  # a fenced block some answers show


COOKING = Topic(
    key="cooking",
    threads=(
        ("김치찌개 맛있게 끓이는 법", "김치찌개를 끓이면 맛이 늘 밍밍해요. 신김치로 깊은 맛을 내려면 어떻게 해야 하나요?"),
        ("된장찌개 재료 손질", "된장찌개에 애호박이랑 두부를 넣는데 재료는 어떤 순서로 넣는 게 좋을까요?"),
        ("제육볶음 양념 비율", "제육볶음 양념을 만들 때 고추장, 간장, 설탕 비율을 어떻게 잡아야 하나요?"),
        ("에어프라이어 삼겹살", "에어프라이어로 삼겹살을 구우면 몇 도에서 몇 분 정도 돌려야 바삭해지나요?"),
        ("멸치 육수 내는 방법", "국물 요리에 쓸 멸치 육수를 집에서 내고 싶은데 다시마는 언제 빼야 하나요?"),
    ),
    answers=(
        "신김치는 먼저 돼지고기와 함께 참기름에 충분히 볶아야 국물에 깊은 맛이 배어요.",
        "김치 국물을 반 컵 정도 넣으면 찌개의 감칠맛과 새콤한 맛이 살아납니다.",
        "멸치와 다시마로 낸 육수를 쓰면 맹물보다 국물 맛이 훨씬 진해져요.",
        "두부는 마지막에 넣고 한소끔만 끓여야 부서지지 않고 부드러워요.",
        "양념장은 고추장 두 큰술, 간장 한 큰술, 설탕 한 큰술, 다진 마늘 한 큰술 비율이 무난합니다.",
        "돼지고기 앞다리살은 양념에 30분 이상 재워 두면 잡내가 줄고 고기가 연해져요.",
        "에어프라이어는 180도로 예열한 뒤 삼겹살을 15분 굽고 뒤집어서 5분 더 구우면 바삭해요.",
        "다시마는 물이 끓기 시작하면 바로 건져야 국물이 미끈거리지 않아요.",
        "애호박과 양파는 단단한 재료라서 된장을 푼 다음 먼저 넣어 익혀 주세요.",
        "대파와 청양고추는 불을 끄기 직전에 넣어야 향이 살아 있어요.",
        "간은 국간장으로 맞추고 부족하면 소금을 조금씩 더하는 게 안전합니다.",
        "냉장고에 남은 찌개는 다음 날 다시 끓이면 재료 맛이 어우러져서 더 맛있어요.",
        "설탕을 아주 조금 넣으면 김치의 신맛이 부드럽게 잡혀요.",
        "고기를 볶을 때 센 불에서 빠르게 볶아야 육즙이 빠지지 않아요.",
    ),
    followups=(
        "참치 김치찌개로 만들 때도 똑같이 볶아야 하나요?",
        "아이들이 먹을 거라 맵지 않게 하려면 고춧가루를 빼도 될까요?",
        "양념한 고기를 냉동 보관해도 맛이 괜찮나요?",
        "육수를 한꺼번에 많이 만들어 두면 며칠 정도 보관할 수 있어요?",
        "국물이 너무 짜게 됐는데 어떻게 살릴 수 있을까요?",
    ),
)

INVESTING = Topic(
    key="investing",
    threads=(
        ("ETF 적립식 투자 시작", "사회초년생인데 매달 50만 원씩 ETF에 적립식으로 투자하려고 해요. 어떤 ETF부터 보면 될까요?"),
        ("연금저축과 IRP 차이", "연금저축펀드랑 IRP 중에 세액공제를 받으려면 어느 쪽이 유리한가요?"),
        ("ISA 계좌 만들기", "ISA 계좌를 만들면 어떤 세금 혜택이 있고 만기는 몇 년인가요?"),
        ("배당주 포트폴리오", "배당주로 매달 현금 흐름을 만들고 싶은데 포트폴리오를 어떻게 짜면 좋을까요?"),
        ("S&P500 환율 걱정", "S&P500 ETF를 사고 싶은데 환율이 높을 때 사도 괜찮은지 고민돼요."),
    ),
    answers=(
        "적립식 투자는 주가가 오르든 내리든 같은 금액을 꾸준히 사서 매입 단가를 평균 내는 방법이에요.",
        "처음에는 S&P500이나 코스피200 같은 지수 ETF로 분산 투자하는 것이 위험을 줄여 줍니다.",
        "연금저축과 IRP를 합쳐 연 900만 원까지 납입액에 대해 세액공제를 받을 수 있어요.",
        "ISA 계좌는 의무 가입 기간이 3년이고 만기 때 수익의 일정 금액까지 비과세 혜택이 있습니다.",
        "배당주는 배당 수익률만 보지 말고 배당 성향과 실적이 꾸준한지 함께 확인해야 해요.",
        "미국 ETF는 환율 변동에 따라 원화 기준 수익률이 달라지니 환전을 나눠서 하는 게 좋아요.",
        "비상금 6개월 치는 예금이나 CMA에 따로 두고 남는 돈으로 투자하는 게 기본입니다.",
        "수수료와 총보수가 낮은 ETF를 고르면 장기 수익률에 꽤 큰 차이가 생겨요.",
        "주식 비중과 채권 비중을 정해 두고 1년에 한 번 리밸런싱하면 위험 관리가 됩니다.",
        "해외 주식 양도소득은 연 250만 원 공제 후에 22%의 세금이 붙어요.",
        "월 배당 ETF를 섞으면 매달 분배금이 들어와서 현금 흐름을 만들기 쉬워요.",
        "단기 수익률에 흔들리지 말고 최소 5년 이상 보유한다는 원칙을 세워 두세요.",
        "증권사 앱에서 자동 매수를 설정하면 매달 정해진 날짜에 ETF를 살 수 있어요.",
    ),
    followups=(
        "적금이랑 비교하면 수익률 차이가 얼마나 날까요?",
        "중간에 돈이 필요하면 연금저축에서 인출할 수 있나요?",
        "국내 상장 해외 ETF와 미국 상장 ETF 중 세금은 어느 쪽이 유리해요?",
        "채권 ETF는 금리가 내릴 때 사는 게 좋은가요?",
        "리밸런싱할 때 매도하면 세금이 나오나요?",
    ),
)

PROGRAMMING = Topic(
    key="programming",
    threads=(
        ("pandas 데이터프레임 병합", "pandas에서 두 개의 DataFrame을 고객 ID 기준으로 병합하고 싶어요. merge랑 join 중에 뭘 써야 하나요?"),
        ("파이썬 리스트 컴프리헨션", "파이썬 for 반복문을 리스트 컴프리헨션으로 바꾸면 속도가 정말 빨라지나요?"),
        ("파이썬 가상환경 설정", "venv로 가상환경을 만들었는데 pip install 한 패키지를 import 하면 에러가 나요."),
        ("FastAPI 비동기 함수", "FastAPI에서 async def 함수 안에서 requests 라이브러리를 써도 되나요?"),
        ("파이썬 예외 처리", "파일을 읽다가 생기는 예외를 try except로 처리하는 좋은 방법이 궁금해요."),
    ),
    answers=(
        "pandas의 merge 함수는 on 인자로 기준 열을 지정하고 how 인자로 inner나 left 병합을 고를 수 있어요.",
        "join 메서드는 인덱스를 기준으로 병합할 때 쓰고, 열 기준이라면 merge가 더 명확합니다.",
        "리스트 컴프리헨션은 append 호출이 없어서 일반 for 반복문보다 조금 빠르고 코드도 짧아져요.",
        "가상환경을 활성화하지 않고 pip을 실행하면 패키지가 시스템 파이썬에 설치돼서 import 에러가 납니다.",
        "터미널에서 which python 명령으로 지금 어떤 인터프리터를 쓰고 있는지 먼저 확인해 보세요.",
        "async 함수 안에서 requests를 호출하면 이벤트 루프가 막히니까 httpx의 AsyncClient를 쓰는 게 좋아요.",
        "예외는 너무 넓게 잡지 말고 FileNotFoundError처럼 구체적인 예외 클래스를 지정하는 게 좋습니다.",
        "with 문으로 파일을 열면 예외가 생겨도 파일이 자동으로 닫혀요.",
        "함수마다 타입 힌트를 붙이면 IDE의 자동 완성과 mypy 검사 덕분에 버그를 일찍 잡을 수 있어요.",
        "병합 후에는 행 개수가 예상과 같은지 len 함수로 꼭 확인해 보세요.",
        "디버깅할 때는 print 대신 logging 모듈을 쓰면 로그 레벨별로 출력을 조절할 수 있어요.",
        "requirements.txt 파일에 패키지 버전을 고정해 두면 다른 컴퓨터에서도 같은 환경을 만들 수 있습니다.",
        "pytest로 테스트 코드를 작성해 두면 리팩터링할 때 안심이 돼요.",
    ),
    followups=(
        "병합한 다음에 중복된 행은 어떻게 지우나요?",
        "이 코드를 함수로 만들어서 재사용하려면 어떻게 해야 해요?",
        "에러 메시지에 ModuleNotFoundError라고 나오는데 이건 뭐예요?",
        "테스트 코드는 어디에 두는 게 일반적인가요?",
        "성능을 측정하려면 어떤 도구를 쓰면 돼요?",
    ),
    code=(
        "```python\nimport pandas as pd\n\n"
        "merged = pd.merge(orders, customers, on=\"customer_id\", how=\"left\")\n"
        "print(merged.head())\n```"
    ),
)

TRAVEL = Topic(
    key="travel",
    threads=(
        ("제주도 3박 4일 일정", "다음 달에 제주도로 3박 4일 여행을 가요. 동쪽과 서쪽 중에 어디에 숙소를 잡는 게 좋을까요?"),
        ("제주 렌터카 예약 팁", "제주공항에서 렌터카를 빌리려는데 보험은 어떤 걸 들어야 하나요?"),
        ("올레길 코스 추천", "제주 올레길 중에 초보자도 걷기 좋은 코스를 추천해 주세요."),
        ("우도 당일치기", "성산항에서 배를 타고 우도에 당일치기로 다녀오려면 시간이 얼마나 걸려요?"),
        ("제주 비 오는 날 여행", "제주 여행 중에 비가 오면 실내에서 갈 만한 곳이 있을까요?"),
    ),
    answers=(
        "제주 동쪽은 성산일출봉과 우도가 가깝고, 서쪽은 협재 해수욕장과 애월 카페 거리가 유명해요.",
        "3박 4일이라면 첫 이틀은 동쪽, 나머지 이틀은 서쪽에 숙소를 잡으면 이동 시간이 줄어듭니다.",
        "렌터카는 완전 자차 보험을 들어야 사고가 나도 면책금 부담이 거의 없어요.",
        "제주공항 렌터카 하우스에서 셔틀버스를 타고 각 업체 차고지로 이동해서 차를 받습니다.",
        "올레 7코스는 서귀포 외돌개에서 시작하는데 해안 절벽 풍경이 멋지고 길이 평탄한 편이에요.",
        "성산항에서 우도까지 배로 15분 정도 걸리고, 섬 안에서는 전기 자전거를 빌려 한 바퀴 돌 수 있어요.",
        "비 오는 날에는 아쿠아플라넷이나 박물관, 오름 대신 실내 카페 투어를 추천합니다.",
        "성수기에는 항공권과 숙소를 최소 한 달 전에 예약해야 가격이 덜 올라가요.",
        "한라산 성판악 코스는 탐방 예약제라서 미리 온라인으로 예약해야 해요.",
        "제주 흑돼지와 고기국수, 갈치조림은 현지에서 꼭 먹어 볼 만한 음식이에요.",
        "바람이 강한 날에는 배가 결항될 수 있으니 출발 전에 운항 정보를 확인하세요.",
        "공항 근처 숙소는 마지막 날 반납 시간을 맞추기 편해서 일정 짜기가 쉬워요.",
        "일출을 보려면 성산일출봉에 새벽 다섯 시 반쯤 도착하는 게 좋습니다.",
    ),
    followups=(
        "아이와 함께 가는데 일정에서 빼야 할 곳이 있을까요?",
        "렌터카 없이 버스로만 다니는 것도 가능한가요?",
        "숙소는 호텔이랑 펜션 중에 어디가 더 나을까요?",
        "공항에서 숙소까지 택시비는 대략 얼마 나와요?",
        "여행 경비는 1인당 어느 정도로 잡으면 될까요?",
    ),
)

RUNNING = Topic(
    key="running",
    threads=(
        ("하프 마라톤 훈련 계획", "석 달 뒤에 하프 마라톤에 나가는데 주 4회 훈련 계획을 어떻게 세워야 할까요?"),
        ("러닝화 고르는 법", "평발인데 러닝화를 고를 때 쿠션화랑 안정화 중에 뭐가 맞을까요?"),
        ("달리기 후 무릎 통증", "달리기를 하고 나면 무릎 바깥쪽이 아픈데 계속 뛰어도 될까요?"),
        ("러닝 페이스 올리기", "10km를 6분 페이스로 뛰는데 5분 30초까지 줄이고 싶어요."),
        ("대회 전날 식단", "마라톤 대회 전날과 당일 아침에는 뭘 먹는 게 좋아요?"),
    ),
    answers=(
        "주 4회라면 쉬운 조깅 두 번, 인터벌 한 번, 주말 장거리 달리기 한 번으로 나누는 게 기본이에요.",
        "장거리 달리기 거리는 매주 10% 이내로만 늘려야 부상 위험이 줄어듭니다.",
        "평발이라면 아치를 받쳐 주는 안정화를 신어 보고 매장에서 발 모양을 측정해 보세요.",
        "러닝화는 보통 600km에서 800km 정도 달리면 쿠션이 죽어서 교체하는 게 좋아요.",
        "무릎 바깥쪽 통증은 장경인대 증후군일 때가 많으니 며칠 쉬고 폼롤러로 허벅지 바깥쪽을 풀어 주세요.",
        "통증이 일주일 넘게 계속되면 무리하지 말고 정형외과나 스포츠 의학 전문의에게 진료를 받으세요.",
        "페이스를 올리려면 400m 인터벌과 템포런을 주 한 번씩 넣어 심폐 능력을 키워야 해요.",
        "케이던스를 분당 170에서 180보로 맞추면 발을 딛는 충격이 줄고 효율이 좋아집니다.",
        "대회 전날에는 파스타나 밥 같은 탄수화물 위주로 먹고 기름진 음식은 피하세요.",
        "대회 당일 아침은 출발 세 시간 전에 바나나와 식빵처럼 소화가 잘되는 음식을 드세요.",
        "달리기 전에는 동적 스트레칭, 달린 후에는 정적 스트레칭으로 근육을 풀어 주세요.",
        "심박수 존 2에서 천천히 뛰는 시간을 늘리면 지구력이 눈에 띄게 좋아져요.",
        "레이스 초반에 너무 빨리 달리면 후반에 퍼지니까 목표 페이스보다 조금 느리게 출발하세요.",
    ),
    followups=(
        "스마트워치로 심박수를 재면 정확한가요?",
        "비 오는 날에는 트레드밀에서 뛰어도 효과가 같나요?",
        "훈련 중에 에너지 젤은 언제 먹어야 해요?",
        "근력 운동도 같이 해야 하나요?",
        "회복 주간은 얼마나 자주 넣어야 할까요?",
    ),
)

JOBS = Topic(
    key="job-hunting",
    threads=(
        ("신입 개발자 이력서 작성", "신입 백엔드 개발자로 지원하는데 이력서에 프로젝트 경험을 어떻게 써야 할까요?"),
        ("자기소개서 지원 동기", "자기소개서의 지원 동기 항목이 너무 뻔하게 써져요. 어떻게 차별화할 수 있나요?"),
        ("인성 면접 준비", "다음 주에 인성 면접이 있는데 자주 나오는 질문과 답변 요령이 궁금해요."),
        ("연봉 협상 방법", "이직하면서 연봉 협상을 처음 하는데 희망 연봉은 어떻게 말해야 하나요?"),
        ("포트폴리오 구성", "디자이너 포트폴리오에는 작업물을 몇 개 정도 넣는 게 적당할까요?"),
    ),
    answers=(
        "이력서의 프로젝트 경험은 문제, 내가 한 일, 수치로 된 결과 순서로 쓰면 읽기 쉬워요.",
        "채용 공고의 자격 요건에 나온 키워드를 이력서에 자연스럽게 넣으면 서류 통과율이 올라갑니다.",
        "지원 동기는 회사의 최근 사업이나 제품과 내 경험이 어떻게 연결되는지 구체적으로 쓰는 게 좋아요.",
        "자기소개서는 두괄식으로 결론을 먼저 쓰고 경험을 근거로 뒷받침하세요.",
        "인성 면접에서는 갈등 해결 경험, 실패 경험, 장단점 질문이 자주 나와요.",
        "면접 답변은 상황, 과제, 행동, 결과로 정리하는 STAR 기법을 쓰면 논리적으로 들립니다.",
        "연봉 협상에서는 현재 연봉과 시장 시세를 근거로 희망 연봉을 범위로 제시하는 게 안전해요.",
        "처우 협의 전에 잡플래닛이나 크레딧잡에서 회사의 평균 연봉을 미리 확인해 두세요.",
        "포트폴리오에는 가장 자신 있는 작업물 다섯 개에서 여덟 개 정도를 과정과 함께 넣는 게 적당해요.",
        "면접이 끝나면 마지막에 회사나 팀에 대해 준비한 질문을 한두 개 하는 것이 좋은 인상을 줍니다.",
        "경력 기술서는 회사별로 맡은 업무와 성과를 최신 순서로 정리하세요.",
        "서류 탈락이 계속되면 지원 직무와 이력서의 키워드가 맞는지 다시 점검해 보세요.",
        "모의 면접을 녹화해서 보면 말버릇과 시선 처리를 고치는 데 도움이 돼요.",
    ),
    followups=(
        "이력서는 한 장으로 줄이는 게 좋을까요?",
        "공백 기간이 있는데 면접에서 어떻게 설명해야 하나요?",
        "경력이 짧아도 경력직으로 지원해도 될까요?",
        "면접 복장은 정장이 꼭 필요할까요?",
        "합격 연락은 보통 면접 후 며칠 뒤에 오나요?",
    ),
)

PLANTS = Topic(
    key="houseplants",
    threads=(
        ("몬스테라 잎이 노랗게 변해요", "몬스테라 잎이 자꾸 노랗게 변하는데 물을 너무 많이 준 걸까요?"),
        ("분갈이 시기와 흙", "화분이 작아진 것 같은데 분갈이는 언제 하고 어떤 흙을 써야 하나요?"),
        ("베란다 다육이 키우기", "베란다에서 다육이를 키우는데 겨울에는 어떻게 관리해야 하나요?"),
        ("식물 벌레 퇴치", "화분 흙에서 작은 날벌레가 계속 생겨요. 뿌리파리인 것 같은데 어떻게 없애나요?"),
        ("스투키 물주기", "스투키는 물을 얼마나 자주 줘야 하는지 감이 안 와요."),
    ),
    answers=(
        "잎이 노랗게 변하는 가장 흔한 원인은 과습이라서 흙이 충분히 마른 뒤에 물을 주셔야 해요.",
        "손가락으로 흙을 2cm 정도 파 봐서 속까지 말랐을 때 화분 밑으로 물이 흐를 만큼 흠뻑 주세요.",
        "분갈이는 뿌리가 화분 밑 구멍으로 나올 때, 봄이나 초가을에 하는 것이 식물에 부담이 적어요.",
        "관엽식물은 분갈이용 상토에 펄라이트를 30% 정도 섞으면 배수와 통기가 좋아집니다.",
        "다육이는 겨울에 물을 한 달에 한 번 정도로 줄이고 베란다 온도가 5도 아래로 내려가지 않게 해 주세요.",
        "햇빛이 부족하면 다육이가 웃자라서 줄기가 길어지고 색이 흐려져요.",
        "뿌리파리는 과습한 흙에서 번식하니까 흙 표면을 말리고 끈끈이 트랩을 꽂아 두세요.",
        "심하면 흙 윗부분을 마사토로 덮거나 친환경 살충제를 흙에 뿌리는 방법도 있어요.",
        "스투키는 다육식물이라 봄과 여름에는 2주에서 3주, 겨울에는 한 달에 한 번이면 충분해요.",
        "몬스테라는 직사광선보다 밝은 간접광을 좋아하고 잎을 가끔 물티슈로 닦아 주면 좋아요.",
        "에어컨이나 난방기 바람이 직접 닿는 자리는 잎 끝이 마르니 피해 주세요.",
        "분갈이 직후에는 뿌리가 예민하니까 일주일 정도는 그늘에 두고 비료를 주지 마세요.",
        "물을 준 뒤 받침에 고인 물은 바로 버려야 뿌리가 썩지 않아요.",
    ),
    followups=(
        "노랗게 된 잎은 잘라 줘야 하나요?",
        "화분 크기는 지금보다 얼마나 큰 걸로 바꿔야 해요?",
        "영양제는 언제 주는 게 좋아요?",
        "식물 조명을 쓰면 햇빛 대신이 될까요?",
        "잎에 하얀 점이 생겼는데 이것도 벌레인가요?",
    ),
)

HOUSING = Topic(
    key="housing",
    threads=(
        ("전세 계약 전 확인할 것", "첫 전세 계약을 앞두고 있는데 계약 전에 꼭 확인해야 할 서류가 뭔가요?"),
        ("확정일자와 전입신고", "전입신고랑 확정일자는 이사한 날 바로 해야 하나요?"),
        ("월세 보증금 협상", "월세 보증금을 올리고 월세를 낮추는 협상이 가능한가요?"),
        ("전세보증보험 가입", "전세보증보험은 꼭 가입해야 하고 보험료는 얼마나 나오나요?"),
        ("이사 업체 고르기", "원룸에서 투룸으로 이사하는데 포장 이사 업체는 어떻게 골라야 하나요?"),
    ),
    answers=(
        "계약 전에 등기부등본을 떼서 집주인 이름과 근저당 같은 선순위 채권이 있는지 확인하세요.",
        "근저당과 전세 보증금을 합친 금액이 매매 시세의 70%를 넘으면 위험한 전세일 수 있어요.",
        "전입신고와 확정일자는 잔금을 치르고 이사한 당일에 주민센터나 정부24에서 바로 하는 게 좋습니다.",
        "전입신고를 하면 다음 날 0시부터 대항력이 생겨서 보증금을 지킬 수 있어요.",
        "보증금과 월세는 전월세 전환율을 기준으로 서로 바꿀 수 있으니 집주인과 협상해 볼 만해요.",
        "전세보증보험은 주택도시보증공사나 서울보증보험에서 가입할 수 있고 보증금의 0.1%에서 0.2% 수준이에요.",
        "계약서 특약에 보증보험 가입에 협조한다는 조건을 넣어 두면 나중에 분쟁이 줄어듭니다.",
        "포장 이사 업체는 최소 세 곳에서 방문 견적을 받아 비교하고 후기를 꼭 확인하세요.",
        "이사 날짜가 손 없는 날이나 월말이면 이사 비용이 더 비싸질 수 있어요.",
        "부동산 중개 수수료는 거래 금액에 따라 상한 요율이 정해져 있으니 미리 계산해 보세요.",
        "건축물대장으로 불법 건축물인지, 주거용으로 등록된 집인지도 확인하는 것이 안전합니다.",
        "계약금은 집주인 본인 명의 계좌로만 보내고 영수증을 꼭 받아 두세요.",
        "입주 전에 집 상태를 사진으로 찍어 두면 퇴거할 때 원상 복구 분쟁을 막을 수 있어요.",
    ),
    followups=(
        "집주인이 대리인을 보냈는데 계약해도 괜찮을까요?",
        "중도에 이사를 나가야 하면 보증금은 어떻게 돌려받나요?",
        "관리비에 포함된 항목은 계약서에 적어야 하나요?",
        "등기부등본은 어디서 뗄 수 있어요?",
        "이사 후에 도시가스 전입은 어떻게 신청해요?",
    ),
)

TOPICS = (COOKING, INVESTING, PROGRAMMING, TRAVEL, RUNNING, JOBS, PLANTS, HOUSING)

#: Small talk that belongs to no topic, at the start and end of conversations.
USER_GREETINGS = (
    "안녕하세요! ", "안녕하세요 ㅎㅎ 질문이 하나 있어요. ", "혹시 질문 하나 해도 될까요? ",
    "음 그러니까 ", "아 진짜 궁금한 게 있는데요, ", "",  "", "",
)
ASSISTANT_OPENERS = (
    "좋은 질문이에요! ", "물론이죠. ", "네, 알려 드릴게요. ", "그럼요, 하나씩 정리해 볼게요. ",
    "", "", "",
)
USER_THANKS = (
    "고마워요 ㅋㅋ 바로 해 볼게요!", "와 정말 도움이 많이 됐어요. 감사합니다!",
    "오 대박 ㅋㅋ 몰랐어요", "네 알겠어요, 고마워요~", "감사합니다! 좋은 하루 보내세요",
)
ASSISTANT_WELCOMES = (
    "천만에요! 더 궁금한 점이 있으면 언제든 물어보세요.",
    "도움이 되었다니 기뻐요. 좋은 결과 있기를 바랄게요!",
    "별말씀을요! 또 궁금한 게 생기면 편하게 말씀해 주세요.",
)


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _answer(rng: random.Random, topic: Topic, sentences: list[str], count: int) -> str:
    body = [sentences.pop() for _ in range(min(count, len(sentences)))]
    text = rng.choice(ASSISTANT_OPENERS) + " ".join(body)
    if topic.code and rng.random() < 0.5:
        text += "\n\n" + topic.code
    return text


def conversation(rng: random.Random, topic: Topic, thread: tuple[str, str],
                 start: float) -> dict[str, Any]:
    """One linear conversation: a question, 1-3 exchanges, sometimes thanks and a reply."""
    title, question = thread
    sentences = rng.sample(topic.answers, len(topic.answers))
    followups = rng.sample(topic.followups, len(topic.followups))
    turns = [("user", rng.choice(USER_GREETINGS) + question),
             ("assistant", _answer(rng, topic, sentences, rng.choice((3, 4))))]
    for followup in followups[: rng.choice((0, 1, 1, 2))]:
        turns += [("user", followup), ("assistant", _answer(rng, topic, sentences, 2))]
    if rng.random() < 0.5:
        turns += [("user", rng.choice(USER_THANKS)), ("assistant", rng.choice(ASSISTANT_WELCOMES))]
    conv_id = _new_id(rng)
    root = _new_id(rng)
    mapping: dict[str, dict[str, Any]] = {
        root: {"id": root, "message": None, "parent": None, "children": []}
    }
    parent, clock = root, start
    for role, text in turns:
        node_id = _new_id(rng)
        clock += rng.uniform(5.0, 120.0)
        mapping[node_id] = {
            "id": node_id, "parent": parent, "children": [],
            "message": {
                "id": node_id, "author": {"role": role, "name": None, "metadata": {}},
                "create_time": round(clock, 6), "update_time": None,
                "content": {"content_type": "text", "parts": [text]},
                "status": "finished_successfully", "end_turn": role == "assistant",
                "weight": 1.0, "metadata": {}, "recipient": "all",
            },
        }
        mapping[parent]["children"].append(node_id)
        parent = node_id
    return {
        "title": title, "create_time": round(start, 6), "update_time": round(clock + 1.0, 6),
        "mapping": mapping, "moderation_results": [], "current_node": parent,
        "plugin_ids": None, "conversation_id": conv_id, "conversation_template_id": None,
        "gizmo_id": None, "is_archived": False, "safe_urls": [], "default_model_slug": "gpt-4o",
        "id": conv_id,
    }


def build(seed: int = SEED) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The export (newest conversation first, like ChatGPT's) and the id -> topic labels."""
    rng = random.Random(seed)
    plan = [(topic, topic.threads[i % len(topic.threads)])
            for topic in TOPICS for i in range(CONVERSATIONS_PER_TOPIC)]
    rng.shuffle(plan)
    starts = sorted(rng.uniform(PERIOD_START, PERIOD_END) for _ in plan)
    conversations, labels = [], {}
    for (topic, thread), start in zip(plan, starts, strict=True):
        conv = conversation(rng, topic, thread, start)
        conversations.append(conv)
        labels[conv["id"]] = topic.key
    conversations.sort(key=lambda c: c["create_time"], reverse=True)
    return conversations, dict(sorted(labels.items()))


def main() -> None:
    write(*build(), EXPORT_PATH, LABELS_PATH)


if __name__ == "__main__":
    main()
