"""Regression tables for the shipped packs: each failure class seen on real text, in ru, uk and en.

Short self-written sentences: positives the packs must catch, and false friends they must not alert on.
"""

from __future__ import annotations

import pytest

from bot.rules import CompiledRules, compile_rules
from bot.rules.packs import available_packs, pack_path
from config.loader import load_rule_pack


@pytest.fixture(scope="module")
def packs() -> CompiledRules:
    return compile_rules([s for name in available_packs() for s in load_rule_pack(pack_path(name))])


def rules_of(packs: CompiledRules, text: str) -> set[str]:
    return {m.rule for m in packs.match(text)}


CATCH = [
    # strikes reported without the word "shelling"
    ("shelling", "ru", "Ночью противник нанёс ракетный удар по Харькову"),
    ("shelling", "ru", "В результате удара повреждены три жилых дома"),
    ("shelling", "ru", "Дроны атаковали нефтебазу в Брянской области"),
    ("shelling", "ru", "Прилёт в центр города, горит административное здание"),
    ("shelling", "ru", "Обломки сбитого беспилотника упали на крышу частного дома"),
    ("shelling", "ru", "Над Белгородом сработала ПВО, есть повреждения"),
    ("shelling", "ru", "С коптера сбросили взрывное устройство на автомобиль"),
    ("shelling", "uk", "Росіяни завдали ракетного удару по Одесі"),
    ("shelling", "uk", "Уламки збитого шахеда впали на житловий будинок"),
    ("shelling", "uk", "Приліт у центр міста, пошкоджено адмінбудівлю"),
    ("shelling", "uk", "Ворог атакував Запоріжжя дронами"),
    ("shelling", "en", "A Russian missile strike hit an apartment block in Dnipro"),
    ("shelling", "en", "Debris from a downed drone set a house on fire"),
    ("shelling", "en", "Russia launched a massive drone attack on Kyiv overnight"),
    ("shelling", "en", "The town came under artillery fire in the city centre"),
    # the incursion reported through its consequences, and denials
    ("incursion", "ru", "ВСУ взяли под контроль несколько сёл в Суджанском районе"),
    ("incursion", "ru", "Бои идут на окраинах Суджи Курской области"),
    ("incursion", "ru", "Украинские военные пересекли государственную границу и вошли в Курскую область"),
    ("incursion", "ru", "В Курской области в плен взяты российские срочники"),
    ("incursion", "ru", "Губернатор опроверг, что ДРГ перешла границу"),
    ("incursion", "uk", "ЗСУ утримують плацдарм на Курщині"),
    ("incursion", "uk", "Сили оборони просунулися в Курській області"),
    ("incursion", "en", "Ukrainian troops captured dozens of villages in Russia's Kursk region"),
    ("incursion", "en", "Kyiv holds a bridgehead inside Russia near Sudzha"),
    ("incursion", "en", "Officials denied that any group crossed the border into Belgorod"),
    # casualties phrased as injuries received or people affected
    ("casualties", "ru", "В результате обстрела пострадали два человека"),
    ("casualties", "ru", "Мужчина получил ранения при атаке дрона"),
    ("casualties", "uk", "Внаслідок атаки постраждали троє людей"),
    ("casualties", "uk", "Жінка зазнала поранень під час обстрілу"),
    ("casualties", "en", "Three civilians were injured in the strike"),
    ("casualties", "en", "Two people were killed in the shelling"),
    # mobilisation phrased as a call-up, draft evasion, recruitment offices
    ("mobilisation", "ru", "Объявлен дополнительный призыв в вооружённые силы"),
    ("mobilisation", "ru", "Резервистов призвали на военные сборы"),
    ("mobilisation", "ru", "Уклонистам от призыва грозит уголовная ответственность"),
    ("mobilisation", "ru", "Военкомат начал рассылать электронные повестки"),
    ("mobilisation", "uk", "Співробітники ТЦК вручили повістку"),
    ("mobilisation", "uk", "Ухилянтів від мобілізації штрафуватимуть"),
    ("mobilisation", "en", "Reservists were called up to the army"),
    ("mobilisation", "en", "Draft evasion will be punished more strictly"),
    ("mobilisation", "en", "Men queued at the military enlistment office"),
    # evacuation in every form, and the mandatory kind
    ("evacuation", "ru", "Жителей приграничных сёл эвакуировали"),
    ("evacuation", "uk", "Людей евакуювали з Вовчанська"),
    ("evacuation", "en", "Residents were evacuated from the border villages"),
    ("evacuation", "ru", "Жителей посёлка призвали покинуть свои дома"),
    ("evacuation", "uk", "Евакопотяг вивіз 300 людей з Покровська"),
    ("evacuation", "en", "Some 28,000 residents have been relocated to safer areas"),
    ("evacuation-mandatory", "ru", "Объявлена принудительная эвакуация семей с детьми"),
    ("evacuation-mandatory", "uk", "Евакуація дітей з громади є обов'язковою"),
    ("evacuation-mandatory", "en", "Residents were ordered to evacuate the town"),
    # drones, Kursk
    ("drones", "ru", "Над областью сбиты 12 БПЛА"),
    ("drones", "uk", "Сили ППО збили безпілотники"),
    ("drones", "en", "Two Shahed drones were shot down"),
    ("kursk-region", "ru", "Губернатор Курской области сообщил об атаке"),
    ("kursk-region", "uk", "Ситуація на Курщині залишається складною"),
    ("kursk-region", "en", "Drone attack in Kursk region damaged a power line"),
    ("kursk-region", "en", "A man from a village in the Glushkovsky District was injured"),
    # a short Telegram post about a drone is military by its abbreviation or its threat
    ("drones", "ru", "В Раменском отменили опасность БПЛА"),
    ("drones", "uk", "Оголошено загрозу застосування безпілотників"),
    ("drones", "en", "A drone threat was declared over the city"),
    # the incursion's consequences told far from the place name, in a post about the Kursk operation
    (
        "incursion",
        "uk",
        "Зайнятий українськими силами плацдарм розширюється. Бої тривають у Курській області",
    ),
    ("incursion", "en", "Russia said its forces had retaken control of Sudzha"),
    # hostile context anywhere in the post makes a death a casualty
    ("casualties", "ru", "Беспилотник атаковал автомобиль.\n\nВодитель погиб на месте"),
    ("casualties", "uk", "Ворог обстріляв Херсон. Загинула жінка"),
    ("casualties", "en", "A missile hit the town. Two people died"),
    # a crossing or an attempted one told with "through", "penetrate", "entry"; a buffer zone across the border
    ("incursion", "ru", "ДРГ пыталась проникнуть в Брянскую область с территории Украины"),
    ("incursion", "uk", "Порушники намагалися перейти через кордон на Сумщині"),
    ("incursion", "en", "Ukrainian troops tried to break through the border in the Kursk region"),
    ("incursion", "en", "Russia thwarted an attempt to penetrate the border near Sudzha"),
    ("incursion", "ru", "Российские войска пытаются создать буферную зону в Сумской области"),
    ("incursion", "uk", "ЗСУ продовжують операцію на Курщині, утримуючи позиції"),
    # leaving homes in the imperfective, a compulsory departure
    ("evacuation", "uk", "Мешканці прикордонних сіл залишають свої домівки через обстріли"),
    ("evacuation", "ru", "Жители покидают свои дома из-за обстрелов"),
    ("evacuation", "en", "Thousands fled their homes as the fighting neared the town"),
    ("evacuation-mandatory", "uk", "Влада ухвалила рішення про обов'язковий виїзд дітей з громади"),
    # a crossing with the state named between the verb and the border; a flag raised over a taken town;
    # taking and holding ground in Ukraine's border regions (Sumy, Chernihiv)
    ("incursion", "ru", "Российские подразделения пересекли украинскую границу у приграничного села"),
    ("incursion", "uk", "Російські війська перетнули державний кордон поблизу прикордонного села"),
    ("incursion", "en", "The FSB said an armed group had crossed the Russian border in the Bryansk region"),
    ("incursion", "en", "Officials said enemy troops violated the state border overnight"),
    ("incursion", "ru", "Военные подняли флаг над зданием администрации в Судже"),
    ("incursion", "uk", "Бійці підняли прапор над селищем на Курщині"),
    ("incursion", "en", "Soldiers raised the flag over the town hall in Sudzha"),
    ("incursion", "ru", "Противник занял ещё одно село в Сумской области"),
    ("incursion", "uk", "Окупанти захопили невелике село на Сумщині"),
    ("incursion", "en", "Russian forces captured a village in the Sumy region"),
    # military losses claims with the number between the verb and the fighters; saboteurs killed; armed clashes
    ("casualties", "ru", "Противник потерял за сутки на этом направлении свыше 300 военнослужащих"),
    ("casualties", "ru", "Потери украинской стороны на этом участке составили более 500 военных"),
    ("casualties", "ru", "Трое диверсантов уничтожены при попытке прорыва"),
    ("casualties", "uk", "Ворог втратив на цій ділянці фронту понад двісті військових"),
    ("casualties", "uk", "Під час збройного зіткнення з порушниками один з них загинув"),
    ("casualties", "uk", "Внаслідок обстрілу одну людину поранено, дані про інших постраждалих уточнюються"),
    ("casualties", "en", "Four saboteurs were eliminated while trying to cross the border"),
    ("casualties", "en", "One intruder died in an armed clash with border guards"),
]

FALSE_FRIENDS = [
    # towing and parking enforcement
    ("evacuation", "ru", "Эвакуатор увёз неправильно припаркованный автомобиль"),
    ("evacuation", "ru", "В Москве за год эвакуировали тысячи машин"),
    ("evacuation", "uk", "Евакуатор забрав авто з тротуару"),
    ("evacuation", "uk", "Поліція евакуювала авто, припарковане на газоні"),
    ("evacuation", "en", "The city will tow and evacuate cars parked in the bus lane"),
    # school and fire drills
    ("evacuation", "ru", "В школе прошла учебная эвакуация при пожаре"),
    ("evacuation", "uk", "У ліцеї провели навчальну евакуацію"),
    ("evacuation", "en", "Pupils took part in an evacuation drill at the school"),
    # a plane's emergency evacuation
    ("evacuation", "uk", "Пасажирів евакуювали з літака після аварійної посадки"),
    ("evacuation", "en", "Passengers were evacuated from the plane down the slides"),
    ("evacuation", "en", "The company will relocate its office to Berlin"),
    ("evacuation-mandatory", "en", "Buses were sent in order to evacuate the residents"),
    # no evacuation planned
    ("evacuation", "ru", "Эвакуация жителей города не планируется"),
    ("evacuation", "uk", "Евакуація наразі не планується"),
    ("evacuation", "en", "Officials said there are no plans to evacuate the town"),
    # civilian drones
    ("drones", "ru", "Агродроны провели опрыскивание полей"),
    ("drones", "ru", "Шоу дронов прошло в День города"),
    ("drones", "uk", "Дрон доставив посилку до дверей"),
    ("drones", "en", "Amazon starts parcel delivery by drone"),
    ("drones", "en", "A wedding photographer flew a drone over the venue"),
    # Moscow's Kurskaya station, the 1943 battle
    ("kursk-region", "ru", "Станцию метро «Курская» закроют на ремонт"),
    ("kursk-region", "ru", "Пробки у Курского вокзала в Москве"),
    ("kursk-region", "ru", "Ветераны вспомнили Курскую битву 1943 года"),
    ("kursk-region", "uk", "Курська битва 1943 року стала переломною"),
    ("kursk-region", "en", "Historians revisit the Battle of Kursk of 1943"),
    # resource mobilisation, fundraising
    ("mobilisation", "ru", "Фонд призвал мобилизовать ресурсы на помощь детям"),
    ("mobilisation", "uk", "Треба мобілізувати ресурси громади на відновлення"),
    ("mobilisation", "en", "The charity aims to mobilize resources for the appeal"),
    ("mobilisation", "ru", "Этот вопрос включён в повестку дня"),
    ("mobilisation", "en", "Parliament discussed the draft law on taxes"),
    # blood drives, road deaths, sport injuries
    ("casualties", "ru", "Доноров призывают сдать кровь для раненых"),
    ("casualties", "ru", "В ДТП на трассе погибли два человека"),
    ("casualties", "uk", "У ДТП загинув водій легковика"),
    ("casualties", "en", "Two people were killed in a car crash on the highway"),
    ("casualties", "en", "The striker was injured during the match"),
    ("casualties", "ru", "В результате атаки пострадали два дома"),
    ("casualties", "uk", "Внаслідок атаки ніхто не постраждав"),
    ("casualties", "en", "No one was injured in the attack"),
    # sports pitch invasions, figurative invasions, pipes
    ("incursion", "ru", "Болельщики выбежали на поле: вторжение фанатов остановило матч"),
    ("incursion", "uk", "Вторгнення туристів на курорт"),
    ("incursion", "en", "A pitch invasion halted the match"),
    ("incursion", "en", "Invasive species spread in the lake"),
    ("incursion", "ru", "Прорыв трубы оставил дом без воды"),
    # figurative attacks and strikes, sport
    ("shelling", "ru", "Хакеры провели DDoS-атаку на сайт"),
    ("shelling", "ru", "Футболист нанёс удар по воротам"),
    ("shelling", "uk", "Кібератака на банк"),
    ("shelling", "en", "Workers went on strike over pay"),
    ("shelling", "en", "He suffered a heart attack"),
    ("shelling", "ru", "Прилёт президента в аэропорт ожидается утром"),
    # deaths and injuries with no hostile action anywhere in the post
    ("casualties", "ru", "При пожаре в квартире погибли два человека"),
    ("casualties", "uk", "Внаслідок пожежі в квартирі загинули двоє людей"),
    ("casualties", "en", "Four people were injured as passengers slid down the slides of the plane"),
    ("casualties", "en", "The actor died after a long battle with cancer"),
    # a civilian crossing the border, the 2022 invasion as a date
    ("incursion", "uk", "Прикордонники затримали чоловіка при спробі незаконного перетину кордону"),
    ("incursion", "ru", "Мужчину задержали при попытке незаконно пересечь границу"),
    ("incursion", "en", "Since the full-scale invasion began, prices have doubled"),
    # a drone show, a filming quadcopter, a delivery drone
    ("drones", "ru", "Шоу дронов украсило праздник"),
    ("drones", "uk", "Зйомки велися камерою з борту квадрокоптера"),
    ("drones", "en", "Colorful drones lit up the sky at the festival"),
    # a drill named once for the whole post, a plane told by its cabin crew, denials of an evacuation
    ("evacuation", "ru", "В аэропорту прошли учения спасателей. После посадки провели эвакуацию пассажиров"),
    (
        "evacuation",
        "en",
        "A mock drill was held at the school. Teachers supervised the evacuation of students",
    ),
    ("evacuation", "ru", "Стюардессы растерялись. Как правильно эвакуироваться, рассказали эксперты"),
    ("evacuation", "en", "Engine fire forces emergency evacuation at Denver airport"),
    ("evacuation", "uk", "Бортпровідники допомагали пасажирам. Евакуація тривала дві хвилини"),
    ("evacuation", "ru", "Власти не планируют эвакуацию жителей района"),
    ("evacuation", "ru", "В администрации назвали фейком сообщения об эвакуации"),
    ("evacuation", "uk", "В ОВА спростували чутки про евакуацію міста"),
    ("evacuation", "en", "Officials denied reports that an evacuation was planned"),
    # figurative invasions told apart by the topic of the post, "the situation is under control"
    ("incursion", "en", "Companies face lawsuits over privacy. Such an invasion can be costly"),
    ("incursion", "uk", "Борщівник поширюється Україною. Причини таких вторгнень вивчають біологи"),
    ("incursion", "ru", "Саранча атакует поля. Вторжение насекомых началось после дождей"),
    ("incursion", "ru", "Глава района: в Курской области положение напряжённое, но контролируемое"),
    # ground assaults and fire at a group are not strikes on a place; a drill's scenario
    ("shelling", "ru", "Атаки пехоты на село отбиты"),
    ("shelling", "uk", "Штурмові підрозділи ворога атакували позиції біля села"),
    ("shelling", "ru", "Пограничники открыли огонь по группе нарушителей"),
    ("shelling", "uk", "Прикордонники відкрили вогонь по диверсійній групі"),
    (
        "shelling",
        "uk",
        "Рятувальники провели пожежно-тактичні навчання. Легенда: пожежа після ракетного удару",
    ),
    ("shelling", "en", "Border guards opened fire on the sabotage group"),
    ("shelling", "en", "Sirens will announce a simulated missile attack on the town"),
    # civilian drones: filming without a permit, farming drones named anywhere in the post
    ("drones", "ru", "Задержан мужчина, который запустил БПЛА для видеосъемки без разрешения на полет"),
    (
        "drones",
        "uk",
        "Аграрії вперше застосували сільськогосподарські дрони. Дрони обробили 200 гектарів поблизу фронту",
    ),
    (
        "drones",
        "en",
        "Agricultural drones sprayed fields near the former front line. Each drone covers 40 hectares",
    ),
    # parking enforcement, fire alarms and fire-brigade drills, a plane's crew and passengers
    ("evacuation", "ru", "Нарушителей правил парковки ждёт штраф. Принудительная эвакуация обойдётся дороже"),
    (
        "evacuation-mandatory",
        "ru",
        "Нарушителей правил парковки ждёт штраф. Принудительная эвакуация обойдётся дороже",
    ),
    ("evacuation", "ru", "По сигналу пожарной тревоги учеников эвакуировали из здания школы"),
    (
        "evacuation",
        "uk",
        "У торговому центрі провели пожежно-тактичні навчання. Відвідувачів евакуювали за кілька хвилин",
    ),
    ("evacuation", "uk", "Усіх, хто був на борту повітряного судна, евакуювали"),
    ("evacuation", "en", "All passengers and crew members were evacuated after the landing"),
    # "mobilised" as a state of mind; labour mobilisation in the 1940s
    ("mobilisation", "ru", "Команда работает под давлением, но максимально мобилизована"),
    ("mobilisation", "ru", "В 1942 году горожан мобилизовали на сельскохозяйственные работы"),
    ("mobilisation", "uk", "Усі служби максимально мобілізовані та зосереджені"),
    ("mobilisation", "en", "Students were mobilised for agricultural labour every autumn"),
    # Moscow's Kursky terminal named once in the post; troops moved; territory lost
    ("kursk-region", "ru", "Ремонт путей на Курском вокзале. Курский примет меньше поездов"),
    (
        "kursk-region",
        "uk",
        "Потяги з Курського вокзалу Москви підуть за новим розкладом. Курський закриють на ремонт",
    ),
    ("casualties", "ru", "Пограничники не видят у границы переброски личного состава и военной техники"),
    ("casualties", "en", "The troops have recaptured much of the lost territory"),
]


@pytest.mark.parametrize(("rule", "lang", "text"), CATCH)
def test_pack_catches(packs: CompiledRules, rule: str, lang: str, text: str) -> None:
    assert rule in rules_of(packs, text), packs.explain(text, rules=[rule])[0].reasons


@pytest.mark.parametrize(("rule", "lang", "text"), FALSE_FRIENDS)
def test_pack_ignores_false_friend(packs: CompiledRules, rule: str, lang: str, text: str) -> None:
    assert rule not in rules_of(packs, text), packs.explain(text, rules=[rule])[0].hits


def test_every_class_is_covered_in_every_language() -> None:
    for table in (CATCH, FALSE_FRIENDS):
        langs = {lang for _, lang, _ in table}
        assert langs == {"ru", "uk", "en"}
