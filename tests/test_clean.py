"""Tests for index.clean: table-driven cases copied from the five corpus reports (whole-corpus checks:
test_clean_corpus.py).

Every raw input below is copied verbatim (line breaks, trailing spaces and non-breaking spaces included)
from the reports in corpus/, named 000-004 by the source_id that corpus/manifest.json gives each file;
some cases add a few real lines of the same report as context, because
clean_text learns its vocabulary from the document it cleans.
"""

from __future__ import annotations

import pytest

from index.clean import Cleaned, clean_text

# Real lines from 002 that attest "voornamelijk" / "namelijk" and "inlichtingencapaciteit".
CTX_002_VOORNAMELIJK = (
    "groeperingen te stoppen. De coalitie bestond voornamelijk uit regionale troepen. \n"
    "burgerslachtoffers (zeker vanaf 2016 en voornamelijk in de regio Mopti) zette bovendien \n"
    "afgenomen.20 Dit heeft er voornamelijk mee te maken dat de missie de burgers niet goed \n"
    "• tegengaan van het uitbreiden van de opstand (voornamelijk in de beginfase \n"
    "De SOLTG bestond voornamelijk uit Nederlandse special forces,viii aangevuld met \n"
    "Malinese zijde was er namelijk onvrede over de link met Frankrijk. Aan Franse zijde kon de \n"
    "taakstelling zouden de sectorhoofdkwartieren van MINUSMA namelijk informatie \n\n"
)
CTX_002_INLICHTINGEN = (
    "Het inbrengen van een inlichtingencapaciteit als ASIFU in een VN-vredesoperatie was een \n"
    "inlichtingencapaciteit binnen MINUSMA om beter te kunnen reageren op aanvallen \n"
    "de effectiviteit van de inlichtingencapaciteit en eenheden in het veld hebben begrensd. \n"
    "ontwikkelingen, bijvoorbeeld ten aanzien van de inlichtingen capaciteit, kwamen beperkt \n\n"
)
CTX_002_INGANG = (
    "vraag ieder op hun eigen manier in. Thema’s zoals terrorisme bestrijding of het tegen gaan \n"
    "van irreguliere migratie vonden zo ingang in het debat, hoewel MINUSMA hier, onder andere \n"
    "militairen vlotter ingang kon vinden in de lokale context.440 Dit waren vooral projecten die \n\n"
)
CTX_002_OPNIEUW = (
    "constitutionele orde van het land opnieuw op de rails moest krijgen, onder meer door het \n"
    "prioriteit werd genoemd.16 In 2019 vroeg de Veiligheids raad opnieuw en explicieter \n"
    "de bijdrage aan MINUSMA zou het zich opnieuw kunnen tonen als verantwoordelijke \n"
    "speerpunt Veiligheid en Rechtsorde. Dat had als focus de justitieketen opnieuw \n\n"
)
CTX_002_ERVAN = (
    "motivering ervan toelichtte.30\n\n"
    "aan de Nederlandse bijdrage en in de beginjaren ervan onderschat. Het resultaat was \n"
    "niet formeel zijn geformuleerd, maar er wordt wel gekeken naar de uitwerking ervan in \n"
    "patrouilleren.250 In Kidal duurde het meer dan twee maanden voordat de LRRPTG weer \n"
    "De LRRPTG verliet Mali in 2019, waarna het een jaar duurde voordat een Britse eenheid de \n\n"
)
# The opening of 000: wrapped lines end with a space, words broken by a lost soft hyphen do not.
RAW_000_OPENING = (
    "Het lijkt geen goede tijd voor vredesmissies \nvan de Verenigde Naties (VN). De multi\n\n"
    "laterale orde staat steeds meer onder druk en de \nbudgetten voor vredesmissies zijn tussen 2015 \n"
    "en 2019 met 21 procent afgenomen. Dit heeft \ngezorgd voor een vermindering van ruim 20 \n"
    "procent militaire en 24 procent civiele mede\nwerkers.1 Volgens de Strategische Monitor ver\n"
    "schuift de internationale politiek daarnaast \nsteeds verder van een multilaterale wereldorde \n"
    "naar een multipolaire wereldorde.2 Tot slot is "
)
RAW_000_NAVO = (
    "van de tweede hoofdtaak onverlet’ laat, is er een \ngrote kans dat deze tweede hoofdtaak (bescher\n"
    "ming en bevordering internationale rechtsorde) \nrelatief minder aandacht gaat krijgen.4 \n\n"
    "Het feit dat vredesmissies weinig aandacht \nkrijgen is een opmerkelijk gebrek. Ten eerste \n"
    "heeft Nederland de afgelopen decennia vaak \nmeegedaan aan missies in VN-, OVSE-, NAVO- \n\n"
    "en\xa0EU-verband, waarbij Defensie steeds een "
)
RAW_002_BOX = (
    "\n• Het ondersteunen van de uitvoering van het vredesakkoord\n• diplomatieke inspanningen bij de "
    "ondertekenaars van het Vredesakkoord van \n\nAlgiers gericht op het respecteren van het Vredesakkoord;\n"
    "• ontwapening, demobilisatie en re-integratie;\n\n• Stabilisatie van bevolkingscentra\n• tegengaan van "
    "het uitbreiden van de opstand (voornamelijk in de beginfase \n\nvan MINUSMA);\n• beschermen van de "
    "burgerbevolking;\n• kortetermijnontwikkelingsprojecten (Quick Impact Projects) vanuit het \n\n"
    "MINUSMA Trust Fund;\n• humanitaire hulpverlening;\n\n• Herstel van het staatsgezag"
)
RAW_003_ABBREVIATIONS = (
    " Afkortingen \nATMIS   African Union Transition Mission in Somalia \n\nAOS  Area of Separation \n\n"
    "AS  Associated Support \n\nAU  Afrikaanse Unie \n EU  Europese Unie \n EUCAP  European Union Capacity "
    "Building \n\nEUFOR  European Union Force in Bosnia and Herzegovina \n\n"
    "EULEX  European Union Rule of Law Mission \n\nEULPC  European Union Liaison and Planning Cell  \n\n"
    "EUNAVFOR European Union Naval Force \n\n"
    "EUPOL COPPS EU Police Coordinating Office for Palestinian Police Support \n\n"
    "EUTM  European Union Training Mission \n\nFAMA  Forces Armées Maliènnes "
)
RAW_003_PAGE_16 = (
    "ondersteund en zal de missie ook de voorbereidingen voor het verkiezingsproces \n\n"
    "                                                \n8 Afgelopen jaar ontving uw Kamer de kabinetsreactie "
    "op de IOB-eindevaluatie over de Nederlandse bijdrage aan \n\nMINUSMA tussen 2014 en 2019 (Kamerstuk "
    "29521, nr. 451). \n\n\n\nPagina 16 van 26  \n \n\n \n\nondersteunen. De SGVN concludeert tevens dat de "
    "mandaatuitbreiding in 2019 \n\nMINUSMA heeft overbelast: het geografisch gebied werd uitgebreid terwijl "
    "de \n\ncapaciteiten van de missie gelijk bleven. De missie is hierdoor niet in staat geweest het "
)
RAW_003_BIJLAGE = (
    " \n\nIn bijlage 1 van deze voortgangsrapportage zijn de rechtsbasis, mandaten en nationale \n\n"
    "kaders2 voor de verschillende bijdragen aan missies en operaties opgenomen. Bijlage 2 \n\n"
    "geeft een integraal overzicht van de totale Nederlandse personele inzet in missies en \n\n"
    "operaties van 1 januari 2022 tot en met april 2023.3 Hierin is ook de inzet in de anti-\n\n"
    "ISIS coalitie en de brede veiligheidsinzet in Irak, alsmede de NAVO-inzet aan de \n"
    "3 Civiele missies zijn niet meegenomen. \n"
)
RAW_003_MIDDEN_OOSTEN = (
    "De Nederlandse inzet in het Midden-Oosten vindt plaats in het kader van de bevordering \n\n"
    "van de internationale rechtsorde en is erop gericht een bijdrage te leveren aan de-\n\n"
    "escalatie van de spanningen in de regio. De veiligheidsinzet sluit nauw aan bij de \n\n"
    "diplomatieke inspanningen en ontwikkelingssamenwerking van Nederland in het Midden-\n\n"
    "Oosten. Nederland zet met bijdragen aan missies in deze regio in op strategische \n\n"
    "functies die nauw aansluiten bij het Nederlands beleid ten aanzien van het Midden-\n"
)
RAW_001_END = (
    "Het kabinet is voornemens kleinere bijdragen te blijven leveren. Daarbij zal, meer \ndan voorheen, "
    "expliciet worden gekeken naar de duur van de inzet en de \nmogelijkheden van meer regionale focus en "
    "clustering.  Tevens zal nog explicieter \nworden gekeken naar aspecten als: politiek belang, "
    "bondgenootschappelijke \nverplichtingen, bedrijfsvoeringslast en de toegevoegde waarde van een "
    "Nederlandse \nbijdrage.  \n \nPagina 45 van 46\n"
)

# (raw, must appear in the cleaned text, must not appear)
# A sentence interrupted by the page's footnote block (notes xi-xiii, two of them wrapped).
RAW_002_NOTES_INTERRUPT = (
    "goed uit te kunnen voeren.86 Zodoende erkende de VN in 2012 de behoefte aan een \n"
    "\n"
    "xi Verderop in dit hoofdstuk wordt hier verder op ingegaan.\n"
    "xii Rotaties zijn de verschillende lichtingen: eenheden werden vaak voor de duur van een "
    "aantal maanden uitgezonden en daarna vervangen door een andere lichting of rotatie. "
    "Helidet-rotaties duurden twee tot vier \n"
    "\n"
    "maanden en andere militaire eenheden werden over het algemeen om de zes maanden vervangen.\n"
    "xiii De U2 is van oudsher de enige militaire inlichtingen eenheid in VN-missies. Deze richt "
    "zich vooral op tactische inlichtingen, zoals het in kaart brengen van bermbommen, om de "
    "troepen te beschermen en militaire operaties \n"
    "\n"
    "te ondersteunen. Hoewel men niet graag sprak over inlichtingen in VN-missies, was er met de U2 "
    "de facto dan ook een beperkte militaire inlichtingencel.\n"
    "\n"
    "inlichtingencapaciteit binnen MINUSMA om beter te kunnen reageren op aanvallen \n"
    "van gewapende groeperingen.87 In reactie hierop en na een verzoek van de VN bood \n"
    "Nederland aan om met enkele (Noord-) Europese landen ASIFU op te zetten.\n"
)

CASES = [
    # 0. photo credits, inside an interrupted sentence and on a line of their own
    pytest.param(
        "Een Fuchs Eloka-pantservoertuig. Door de nadruk op het beschermen \ufffd FOTO MCD, KEESNAN DOGGER \n"
        "van burgers wordt intelligence ook steeds belangrijker voor VN-vredesmissies.\n"
        "levert Nederland een transportvliegtuig aan MINUSMA\n FOTO FORSVARET\n Nederland kan hier een rol spelen.\n",
        ["Door de nadruk op het beschermen van burgers wordt intelligence", "transportvliegtuig aan MINUSMA"],
        ["FOTO", "KEESNAN", "FORSVARET", "\ufffd"],
        id="2021-photo-credits",
    ),
    pytest.param(
        "De FOTO-expositie in Den Haag toonde het werk van VN-militairen in Mali.\n",
        ["De FOTO-expositie in Den Haag"], [], id="2021-foto-in-text-kept",
    ),
    # 1. words split by a space
    pytest.param(
        "veel veranderd. Hoewel dit onderzoek zich beperkt tot de periode 2014-2019, wordt \n"
        "het gepubliceerd op een moment dat de inter nationale gemeenschap zich beraadt \n",
        ["de internationale gemeenschap zich beraadt"],
        ["inter nationale"],
        id="002-inter-nationale",
    ),
    pytest.param(
        "2.1 De aanleiding tot MINUSMA\nMINUSMA werd op 25\xa0april 2013 in het leven geroepen via Resolutie "
        "2100 van de \nVN Veiligheids raad (hierna ook: VNVR), waarin werd besloten de lopende "
        "African-led \n",
        ["Resolutie 2100 van de VN Veiligheidsraad (hierna ook: VNVR)"],
        ["Veiligheids raad"],
        id="002-veiligheids-raad",
    ),
    pytest.param(
        "\nOndertussen viel het gemeen schappelijk Toeareg-front in het noorden uit elkaar en \n",
        ["het gemeenschappelijk Toeareg-front"],
        [],
        id="002-gemeen-schappelijk",
    ),
    pytest.param(
        "De directie Internationaal Onderzoek en Beleidsevaluatie (IOB) van het ministerie van \n"
        "Buiten landse\xa0Zaken heeft de gehele bijdrage in de periode 2014-2019 geëvalueerd.",
        ["ministerie van Buitenlandse Zaken heeft de gehele bijdrage in de periode 2014-2019 geëvalueerd."],
        [],
        id="002-buiten-landse",
    ),
    pytest.param(
        CTX_002_VOORNAMELIJK
        + CTX_002_INLICHTINGEN
        + "voor namelijk gericht op het verbeteren van de inlichtingen capaciteiten van de missie. \n",
        ["voornamelijk gericht op het verbeteren van de inlichtingencapaciteiten van de missie."],
        ["voor namelijk"],
        id="002-voor-namelijk-inlichtingen-capaciteiten",
    ),
    pytest.param(
        "initiatieven en inspanningen op het gebied van ontwikkelingssamenwerking. \n\n"
        "van de ministers van Buiten landse\xa0Zaken, van Defensie en voor Ontwikkelings samen werking "
        "(1 juli "
        "2009), Kamer stukken II 2008-2009, 30 162, nr.\xa011.\n",
        ["voor Ontwikkelingssamenwerking (1 juli 2009)", "30 162, nr. 11."],
        [],
        id="002-ontwikkelings-samen-werking",
    ),
    pytest.param(
        "Tussen 2014 en 2019 leverde Nederland een relatief grote bijdrage aan de VN Multi-\n"
        "dimensionale Geïntegreerde Stabilisatie Missie in Mali (MINUSMA). De inzet was \n",
        ["de VN Multidimensionale Geïntegreerde Stabilisatie Missie"],
        [],
        id="002-multi-dimensionale",
    ),
    # counter-examples: real word pairs that must not merge, even when the joined word occurs
    pytest.param(
        CTX_002_INGANG
        + "MINUSMA, geldt een verplichting om de inzet na beëindiging te evalueren.ii Een interne \n"
        "eindevaluatie van MINUSMA was al in gang gezet door de betrokken ministeries (Buiten-\n",
        ["was al in gang gezet"],
        ["ingang gezet"],
        id="002-in-gang-stays",
    ),
    pytest.param(
        CTX_002_OPNIEUW
        + "\nDat Defensie zich op nieuw terrein begaf, werd – naast de vraag van MINUSMA om een \n",
        ["zich op nieuw terrein begaf"],
        [],
        id="002-op-nieuw-terrein-stays",
    ),
    pytest.param(
        "\nHet tot stand brengen van de rotatieschema’s bleek moeilijk, omdat ze politiek \n"
        "Dit rapport telt acht hoofdstukken. Na dit inleidende hoofdstuk zal in hoofdstuk\xa02 \n"
        "ingegaan worden op de context. Hier wordt stilgestaan bij MINUSMA als geheel, haar \n"
        "totstand koming en haar uitdagingen. In hoofdstuk\xa03 wordt het beleidstheoretisch kader \n",
        ["Het tot stand brengen", "haar totstandkoming en"],
        [],
        id="002-tot-stand-stays",
    ),
    pytest.param(
        "drie onderdelen: een Amerikaans en een Canadees team in Jeruzalem en een Brits-\n\n"
        "onderdelen vergt het een permanente inspanning om de integratie van het Nederlandse \n\n"
        "onvrede onder delen van de bevolking een voedingsbodem voor de verspreiding van \n",
        ["onvrede onder delen van de bevolking"],
        [],
        id="003-onder-delen-stays",
    ),
    pytest.param(
        CTX_002_ERVAN
        + "werd gerekruteerd. Eerder was het zo, dat de functie-invulling afhing van wie er op dat \n"
        "civiele senior leiderschap te ondersteunen.107 Hierdoor kwam het voor dat gelijkaardige \n"
        "burgers te beschermen, en wat er van hen \n",
        ["wie er op dat", "kwam het voor dat gelijkaardige", "wat er van hen"],
        ["ervan hen", "voordat gelijk"],
        id="002-er-van-voor-dat-op-dat-stay",
    ),
    # 2. line-end hyphenation and lost soft hyphens
    pytest.param(
        "Het kabinet informeerde de Tweede\xa0Kamer op 2\xa0juli\xa02013 per brief dat het de wenselijk-\n"
        "heid en mogelijkheid onderzocht van een geïntegreerde Nederlandse bijdrage aan \n",
        ["dat het de wenselijkheid en mogelijkheid onderzocht"],
        [],
        id="002-wenselijk-heid",
    ),
    pytest.param(
        "volledige Nederlandse bijdrage meegenomen: de inzet van militairen, politie- en KMar-\n"
        "functionarissen en civiele deskundigen.\n",
        ["de inzet van militairen, politie- en KMar-functionarissen en civiele deskundigen."],
        [],
        id="002-politie-en-kmar",
    ),
    pytest.param(
        "De beleidsreactie begint met een schets van de context waarin de Nederlandse bijdrage aan de VN-\n\n"
        "missie heeft plaatsgevonden. Aansluitend worden de vijf conclusies en de bijbehorende \n",
        ["bijdrage aan de VN-missie heeft plaatsgevonden."],
        [],
        id="004-vn-missie",
    ),
    pytest.param(
        RAW_003_MIDDEN_OOSTEN,
        ["bijdrage te leveren aan de-escalatie van", "in het Midden-Oosten. Nederland zet"],
        ["Midden- Oosten"],
        id="003-de-escalatie-midden-oosten",
    ),
    pytest.param(
        "bijdrage aan de United States Security Coordinator (USSC) for Israel and the Palestinian \n\n"
        "Authority, een missie die de bredere Nederlandse inzet voor de realisatie van een twee-\n\n"
        "statenoplossing tussen Israël en de Palestijnse Gebieden ondersteunt door middel van   \n",
        ["de realisatie van een tweestatenoplossing tussen Israël"],
        [],
        id="003-twee-statenoplossing",
    ),
    pytest.param(
        "initiatief van de tweede regering-Obama (2013-\n2017). Sindsdien zijn er nog vier georganiseerd \n",
        ["regering-Obama (2013-2017). Sindsdien"],
        [],
        id="000-year-range",
    ),
    pytest.param(
        RAW_000_OPENING,
        [
            "De multilaterale orde staat",
            "civiele medewerkers. Volgens de Strategische Monitor verschuift de",
            "met 21 procent afgenomen",
            "multipolaire wereldorde. Tot slot is",
        ],
        ["mede werkers", "wereldorde.2"],
        id="000-soft-hyphens-and-notes",
    ),
    pytest.param(
        RAW_000_NAVO,
        [
            "(bescherming en bevordering",
            "missies in VN-, OVSE-, NAVO- en EU-verband, waarbij",
            "aandacht gaat krijgen.\n\nHet feit",
        ],
        [],
        id="000-suspended-hyphen-across-blank",
    ),
    # 3. footnote marks
    pytest.param(
        "het niet naar de praktijk uitwerken van de bepalingen uit eerdere Vredesakkoorden.iii \n"
        "Verschillende facties vonden elkaar in hun onvrede over de trage uitvoering van deze \n",
        ["eerdere Vredesakkoorden. Verschillende facties"],
        ["iii"],
        id="002-roman-after-period",
    ),
    pytest.param(
        "betrouwbare partner en beschermer. Dit om een \nantwoord te hebben ‘op de vele dreigingen die \n"
        "[…] op ons af komen.’3 Alhoewel de Defensievisie \neen groot aantal zaken bespreekt, zegt die ",
        ["op ons af komen.’ Alhoewel de Defensievisie"],
        ["’3"],
        id="000-number-after-quote",
    ),
    pytest.param(
        "\nVoor Nederlandse bijdragen aan Artikel 100-missies,i en dus ook voor de bijdrage aan \n",
        ["Artikel 100-missies, en dus ook"],
        [",i "],
        id="002-roman-after-comma",
    ),
    pytest.param(
        "wordt in tabel\xa03 (vorige pagina) weergegeven.xix Een toelichting op de middelen en inzet \n",
        ["(vorige pagina) weergegeven. Een toelichting"],
        ["xix"],
        id="002-weergegeven-xix",
    ),
    pytest.param(
        "functioneren van EU-missies in Mali evenals een gebrek aan waarborgen ten aanzien \n"
        "van de omgang met de Wagner Group.ix8 \n",
        ["de omgang met de Wagner Group."],
        ["ix8"],
        id="002-roman-and-number",
    ),
    pytest.param(
        "2016 werd het troepenplafond verhoogd (zie Figuur\xa02).13 Door het escalerende geweld \n",
        ["verhoogd (zie Figuur 2). Door het"],
        [").13"],
        id="002-number-after-bracket",
    ),
    pytest.param(
        RAW_003_BIJLAGE,
        [
            "nationale kaders voor de verschillende bijdragen",
            "tot en met april 2023. Hierin is ook",
            "3 Civiele missies zijn niet meegenomen.",
        ],
        ["kaders2", "2023.3"],
        id="003-glued-and-after-year",
    ),
    pytest.param(
        "\nOm dit doel te bereiken wilde het kabinet hoogtechnologische inlichtingen capaciteiten \n"
        "(inclusief sensorenxiii) en de broodnodige transportcapaciteit toevoegen aan de missie. \n\n"
        "xiii Met sensoren wordt hier verwezen naar de verschillende middelen waarmee inlichtingen vergaard "
        "kunnen worden. Dat kan personeel in een bepaalde militaire eenheid zijn of materieel, zoals "
        "helikopters en drones.\n",
        ["(inclusief sensoren) en de broodnodige", "xiii Met sensoren"],
        ["sensorenxiii"],
        id="002-glued-roman-with-note",
    ),
    # counter-examples: numbers that are content
    pytest.param(
        "erkentelijk voor haar eindevaluatie. \n\n                                                    \n\n"
        "De beleidsreactie begint met een schets van de context waarin de Nederlandse bijdrage aan de VN-\n\n"
        "missie heeft plaatsgevonden. Aansluitend worden de vijf conclusies en de bijbehorende \n\n"
        "aanbevelingen van IOB één voor één geadresseerd. Het kabinet onderschrijft aanbevelingen 2.2, \n\n"
        "3.1, 3.2, 4.2, 5.1 en 5.2 volledig, en de aanbevelingen 2.1, 2.3 en 4.1 ten dele. ",
        [
            "eindevaluatie.\n\nDe beleidsreactie",
            "onderschrijft aanbevelingen 2.2, 3.1, 3.2, 4.2, 5.1 en 5.2 "
            "volledig, en de aanbevelingen 2.1, 2.3 en 4.1 ten dele.",
        ],
        [],
        id="004-section-numbers-stay",
    ),
    pytest.param(
        "14 Zoals gemeld in is De inzet van taakgroep Takuba in Mali is in 2022 beëindigd (Kamerstuk 29 521 "
        "nr.440). \n",
        ["(Kamerstuk 29 521 nr.440)."],
        [],
        id="003-nr-number-stays",
    ),
    pytest.param(
        "G5 Sahel: De G5 Sahel is een samenwerkingsverband van vijf Sahel-landen \n"
        "onderzoek op dit terrein.iv Deze incidenten worden daarom bewust niet behandeld in deze \n"
        "van MINUSMA was de U2 verantwoordelijk voor het militaire inlichtingenproces.110 ASIFU \n"
        "Met de overgang van de Nederlandse naar de Duitse helikopters (NH90) verloor de \n",
        [
            "G5 Sahel: De G5 Sahel",
            "op dit terrein. Deze incidenten",
            "was de U2 verantwoordelijk",
            "inlichtingenproces. ASIFU",
            "helikopters (NH90) verloor",
        ],
        [],
        id="002-codes-stay",
    ),
    pytest.param(
        RAW_002_NOTES_INTERRUPT,
        ["de behoefte aan een inlichtingencapaciteit binnen MINUSMA om beter",
         "gewapende groeperingen. In reactie hierop",
         "twee tot vier maanden en andere militaire", "militaire operaties te ondersteunen. Hoewel"],
        ["aan een\n", "inlichtingencel.\n\ninlichtingencapaciteit"],
        id="002-sentence-rejoined-across-notes",
    ),
    # 4. page footers
    pytest.param(
        RAW_003_PAGE_16,
        # the sentence the page's footnote interrupts is rejoined; the note follows its paragraph
        ["voor het verkiezingsproces ondersteunen. De SGVN concludeert", "(Kamerstuk 29521, nr. 451)."],
        ["Pagina", "verkiezingsproces \n"],
        id="003-page-footer-removed",
    ),
    # 5. unwrapping, headings, lists, tables
    pytest.param(
        RAW_003_ABBREVIATIONS,
        [
            "Afkortingen\nATMIS  African Union Transition Mission in Somalia\nAOS  Area of Separation\nAS  "
            "Associated Support\nAU  Afrikaanse Unie\nEU  Europese Unie\n"
            "EUCAP  European Union Capacity Building\n",
            "\nEUNAVFOR European Union Naval Force\n"
            "EUPOL COPPS EU Police Coordinating Office for Palestinian "
            "Police Support\nEUTM  European",
        ],
        [],
        id="003-abbreviation-list",
    ),
    pytest.param(
        "\n1.1 Aanleiding\nIn mei 2019 kwam na vijf jaar een voorlopig einde aan de deelname van "
        "Nederlandse \n"
        "militaire eenheden aan de VN Multidimensionale Geïntegreerde Stabilisatie Missie in Mali ",
        [
            "1.1 Aanleiding\nIn mei 2019 kwam na vijf jaar een voorlopig einde aan de deelname van "
            "Nederlandse "
            "militaire eenheden"
        ],
        [],
        id="002-numbered-heading",
    ),
    pytest.param(
        RAW_002_BOX,
        [
            "\n• diplomatieke inspanningen bij de ondertekenaars van het Vredesakkoord van Algiers "
            "gericht op",
            "\n• tegengaan van het uitbreiden van de opstand (voornamelijk in de beginfase van MINUSMA);\n",
        ],
        [],
        id="002-bullets",
    ),
    pytest.param(
        "kader10 \n\nE\nu\n\nr\no\n\np\na\n \n\n"
        "EUFOR ALTHEA VNVR-resolutie 2658 2 november 2023 31 juli 2025 \n\n",
        ["Europa\n\nEUFOR ALTHEA VNVR-resolutie 2658 2 november 2023 31 juli 2025"],
        [],
        id="003-vertical-label",
    ),
    pytest.param(
        "  \n\nUNIFIL 1  3  3 \n\nUNDOF 2  2  2 \n\nUSSC 4 3 8 5 13 \n",
        ["UNIFIL 1  3  3\nUNDOF 2  2  2\nUSSC 4 3 8 5 13"],
        [],
        id="003-table-rows",
    ),
    pytest.param(
        "De kerntaken en het kernmandaat van UNIFIL zijn nagenoeg gelijk gebleven. Zoals \n\n"
        "vermeld in de rapportage  van afgelopen jaar, besloot de VNVR in 2021 dat UNIFIL \n",
        ["gelijk gebleven. Zoals vermeld in de rapportage van afgelopen jaar, besloot"],
        [],
        id="003-double-spaced-unwrap",
    ),
]

# (raw, exact cleaned text)
EXACT = [
    pytest.param(
        "Evaluatie inzet Nederlandse militairen 2014 \n8 Slotbeschouwing \nIn deze brief wordt een aantal "
        "kleinere bijdragen aan missies beschreven. Hierover is \nuitgebreid met uw Kamer van gedachten "
        "gewisseld tijdens het Algemeen Overleg ",
        "Evaluatie inzet Nederlandse militairen 2014\n8 Slotbeschouwing\nIn deze brief wordt een aantal "
        "kleinere bijdragen aan missies beschreven. Hierover is uitgebreid met uw Kamer van gedachten "
        "gewisseld tijdens het Algemeen Overleg",
        id="001-heading-lines",
    ),
    pytest.param(
        "de Nederlandse artikel-100 bijdrage aan de VN-missie UN Multidimensional Integrated "
        "Stabilisation \n\n"
        "Mission (MINUSMA) in Mali met een C-130 detachement. De inzet vond plaats van november 2021 ",
        "de Nederlandse artikel-100 bijdrage aan de VN-missie UN Multidimensional Integrated Stabilisation "
        "Mission (MINUSMA) in Mali met een C-130 detachement. De inzet vond plaats van november 2021",
        id="004-real-hyphens-and-numbers",
    ),
    pytest.param(
        RAW_001_END,
        "Het kabinet is voornemens kleinere bijdragen te blijven leveren. Daarbij zal, meer dan voorheen, "
        "expliciet worden gekeken naar de duur van de inzet en de mogelijkheden van meer regionale focus en "
        "clustering. Tevens zal nog explicieter worden gekeken naar aspecten als: politiek belang, "
        "bondgenootschappelijke verplichtingen, bedrijfsvoeringslast en de toegevoegde waarde van een "
        "Nederlandse bijdrage.",
        id="001-footer-and-spaces",
    ),
    pytest.param("", "", id="empty"),
    pytest.param(" \n\n \f \n", "", id="whitespace-only"),
]


@pytest.mark.parametrize(("raw", "present", "absent"), CASES)
def test_repairs(raw: str, present: list[str], absent: list[str]) -> None:
    text = clean_text(raw).text
    for expected in present:
        assert expected in text
    for unexpected in absent:
        assert unexpected not in text


@pytest.mark.parametrize(("raw", "expected"), EXACT)
def test_exact(raw: str, expected: str) -> None:
    assert clean_text(raw).text == expected


@pytest.mark.parametrize("raw", [p.values[0] for p in CASES + EXACT])
def test_cases_are_idempotent(raw: str) -> None:
    once = clean_text(raw).text
    assert clean_text(once).text == once


def test_empty_string() -> None:
    assert clean_text("") == Cleaned("", ())


def test_pages_from_footer_markers() -> None:
    cleaned = clean_text(RAW_003_PAGE_16)
    assert [page for _, page in cleaned.pages] == [16, 17]
    assert cleaned.pages[0][0] == 0
    assert cleaned.text[cleaned.pages[1][0] :].startswith("ondersteunen. De SGVN")
    assert clean_text(RAW_001_END).pages == ((0, 45),)  # nothing follows the last footer


def test_pages_from_form_feeds() -> None:
    raw = (
        "Het kabinet is voornemens kleinere bijdragen te blijven leveren. Daarbij zal, meer \n\f"
        "dan voorheen, expliciet worden gekeken naar de duur van de inzet en de \n\f\f"
        "bijdrage.  \n \nPagina 45 van 46\n\f"
    )
    cleaned = clean_text(raw)
    assert cleaned.text == (
        "Het kabinet is voornemens kleinere bijdragen te blijven leveren. Daarbij zal, meer dan voorheen, "
        "expliciet worden gekeken naar de duur van de inzet en de bijdrage."
    )
    offsets = [offset for offset, _ in cleaned.pages]
    assert [page for _, page in cleaned.pages] == [1, 2, 3, 4, 5]
    assert offsets == sorted(offsets)
    assert cleaned.text[offsets[1] :].startswith("dan voorheen")
    assert offsets[2] == offsets[3] and cleaned.text[offsets[3] :] == "bijdrage."
    assert offsets[4] == len(cleaned.text)


def test_no_pages_without_markers() -> None:
    raw = (
        "In deze brief wordt een aantal kleinere bijdragen aan missies beschreven. Hierover is \n"
        "uitgebreid met uw Kamer van gedachten gewisseld tijdens het Algemeen Overleg "
    )
    assert clean_text(raw).pages == ()
