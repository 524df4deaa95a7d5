"""General knowledge shipped with the package: the drift guard and the replay's semantic slice.

Three disjoint sets, each with its own job:

* ``CORE_QA`` -- short general-knowledge and simple-reasoning questions (arithmetic,
  opposites, calendar, colours, animals, books, science). The drift guard keeps the ones
  a given model answers correctly at B0 (:func:`core_suite` filters per model) and
  checks that consolidation does not change those answers.
* ``SEMANTIC_FACTS`` -- general statements on *other* topics (rivers, mountains,
  inventions, biology) and ``SEMANTIC_QA`` -- general questions, disjoint from the core
  suite, whose targets are the base model's own answers before consolidation. Together
  they are the 30% "semantic" slice of every replay batch, which keeps the weights
  anchored to ordinary text and ordinary question answering.
* ``HELDOUT_TEXT`` -- general prose used only to measure perplexity before and after.

None of them mentions capitals or currencies, relations that scenario B deliberately
changes. One core question asks the language of the United States; scenario B rewrites
official languages of countries, so a change there after consolidating B is partly
intended interference (reported as drift all the same).
"""

from __future__ import annotations

from typing import NamedTuple


class CoreQuestion(NamedTuple):
    question: str
    answers: tuple[str, ...]


def _q(question: str, *answers: str) -> CoreQuestion:
    return CoreQuestion(question, answers)


CORE_QA: tuple[CoreQuestion, ...] = (
    _q("What is 2 plus 2?", "4", "four"),
    _q("What is 3 plus 4?", "7", "seven"),
    _q("What is 5 plus 5?", "10", "ten"),
    _q("What is 10 minus 3?", "7", "seven"),
    _q("What is 6 plus 3?", "9", "nine"),
    _q("What is 9 minus 4?", "5", "five"),
    _q("What is 2 times 3?", "6", "six"),
    _q("What is 4 times 2?", "8", "eight"),
    _q("What is 1 plus 1?", "2", "two"),
    _q("What is 8 minus 8?", "0", "zero"),
    _q("What is 100 plus 100?", "200", "two hundred"),
    _q("What is half of 10?", "5", "five"),
    _q("How many days are in a week?", "7", "seven"),
    _q("How many months are in a year?", "12", "twelve"),
    _q("How many hours are in a day?", "24", "twenty-four"),
    _q("How many minutes are in an hour?", "60", "sixty"),
    _q("How many seconds are in a minute?", "60", "sixty"),
    _q("How many legs does a spider have?", "8", "eight"),
    _q("How many legs does a dog have?", "4", "four"),
    _q("How many wheels does a bicycle have?", "2", "two"),
    _q("How many sides does a triangle have?", "3", "three"),
    _q("How many sides does a square have?", "4", "four"),
    _q("How many players are on a soccer team on the field?", "11", "eleven"),
    _q("How many continents are there?", "7", "seven"),
    _q("What day comes after Monday?", "Tuesday"),
    _q("What day comes after Friday?", "Saturday"),
    _q("What day comes before Sunday?", "Saturday"),
    _q("What month comes after January?", "February"),
    _q("What month comes after November?", "December"),
    _q("What is the first month of the year?", "January"),
    _q("What is the last month of the year?", "December"),
    _q("Which season comes after winter?", "spring"),
    _q("Which season comes after summer?", "autumn", "fall"),
    _q("What is the opposite of hot?", "cold"),
    _q("What is the opposite of up?", "down"),
    _q("What is the opposite of big?", "small", "little"),
    _q("What is the opposite of day?", "night"),
    _q("What is the opposite of black?", "white"),
    _q("What is the opposite of yes?", "no"),
    _q("What is the opposite of left?", "right"),
    _q("What is the opposite of open?", "closed", "close", "shut"),
    _q("What is the opposite of fast?", "slow"),
    _q("What is the opposite of happy?", "sad", "unhappy"),
    _q("What color is the sky on a clear day?", "blue"),
    _q("What color is grass?", "green"),
    _q("What color is snow?", "white"),
    _q("What color is a ripe banana?", "yellow"),
    _q("What color is coal?", "black"),
    _q("What color do you get by mixing blue and yellow?", "green"),
    _q("What color is a fire truck?", "red"),
    _q("What color are most tomatoes when ripe?", "red"),
    _q("What animal says moo?", "cow", "a cow"),
    _q("What animal barks?", "dog", "a dog"),
    _q("What animal says meow?", "cat", "a cat"),
    _q("What animal is known as the king of the jungle?", "lion", "the lion"),
    _q("Which animal has a very long neck?", "giraffe", "the giraffe"),
    _q("Which animal has black and white stripes?", "zebra", "the zebra"),
    _q("What do bees make?", "honey"),
    _q("What do cows give us to drink?", "milk"),
    _q("What is a baby cat called?", "kitten"),
    _q("What is a baby dog called?", "puppy"),
    _q("What is a young sheep called?", "lamb"),
    _q("What do caterpillars turn into?", "butterflies", "butterfly", "a butterfly"),
    _q("Which bird is a symbol of peace?", "dove", "the dove"),
    _q("What is frozen water called?", "ice"),
    _q("What gas do humans need to breathe?", "oxygen"),
    _q("What is H2O commonly called?", "water"),
    _q("Which planet do we live on?", "Earth"),
    _q("What star is at the center of our solar system?", "the Sun", "Sun"),
    _q("What do we call the natural satellite of the Earth?", "the Moon", "Moon"),
    _q("Which planet is known as the Red Planet?", "Mars"),
    _q("What is the largest planet in our solar system?", "Jupiter"),
    _q("At what temperature in Celsius does water freeze?", "0", "zero", "0 degrees"),
    _q("At what temperature in Celsius does water boil?", "100", "100 degrees"),
    _q("What organ pumps blood through the body?", "heart", "the heart"),
    _q("What do we use to see?", "eyes", "our eyes"),
    _q("What do we use to hear?", "ears", "our ears"),
    _q("How many fingers are on one hand?", "5", "five"),
    _q("Who wrote Romeo and Juliet?", "William Shakespeare", "Shakespeare"),
    _q("Who wrote Hamlet?", "William Shakespeare", "Shakespeare"),
    _q("Who painted the Mona Lisa?", "Leonardo da Vinci", "da Vinci", "Leonardo"),
    _q("Who wrote Pride and Prejudice?", "Jane Austen", "Austen"),
    _q("Who developed the theory of relativity?", "Albert Einstein", "Einstein"),
    _q("Who was the first president of the United States?", "George Washington", "Washington"),
    _q("What is the tallest animal?", "giraffe", "the giraffe"),
    _q("What is the largest ocean?", "the Pacific Ocean", "Pacific", "Pacific Ocean"),
    _q("What language is spoken in the United States?", "English"),
    _q("What is the plural of mouse?", "mice"),
    _q("What is the plural of child?", "children"),
    _q("What is the past tense of go?", "went"),
    _q("What is the past tense of eat?", "ate"),
    _q("What letter comes after A?", "B"),
    _q("What letter comes before Z?", "Y"),
    _q("What is the first letter of the alphabet?", "A"),
    _q("What shape is a ball?", "round", "a sphere", "sphere"),
    _q("What do you call a house made of ice?", "igloo", "an igloo"),
    _q("What falls from clouds when it rains?", "water", "rain", "raindrops"),
    _q("Which fruit keeps the doctor away?", "apple", "an apple"),
    _q("What do plants need from the sun?", "light", "sunlight"),
    _q("What is the freezing point of water in Fahrenheit?", "32", "32 degrees"),
)

SEMANTIC_FACTS: tuple[str, ...] = (
    "The Nile is one of the longest rivers in the world and flows north into the Mediterranean Sea.",
    "Mount Everest, on the border of Nepal and China, is the highest mountain above sea level.",
    "The Amazon rainforest covers much of northern Brazil and is home to millions of species.",
    "The Sahara is the largest hot desert on Earth and stretches across North Africa.",
    "The Great Barrier Reef lies off the coast of Queensland in northeastern Australia.",
    "The Danube flows through ten countries before it reaches the Black Sea.",
    "Lake Baikal in Siberia is the deepest freshwater lake in the world.",
    "The Andes run along the western edge of South America for about seven thousand kilometres.",
    "Iceland sits on the Mid-Atlantic Ridge, where two tectonic plates pull apart.",
    "The Mississippi River drains a large part of the central United States.",
    "Johannes Gutenberg introduced printing with movable type in Europe around 1450.",
    "The steam engine powered factories and railways during the Industrial Revolution.",
    "Alexander Graham Bell is credited with patenting the first practical telephone.",
    "The Wright brothers made the first powered airplane flight in 1903.",
    "Penicillin was discovered by Alexander Fleming in 1928.",
    "The printing press made books cheaper and helped spread literacy.",
    "Marie Curie won Nobel Prizes in both physics and chemistry.",
    "The World Wide Web was proposed by Tim Berners-Lee in 1989.",
    "The compass helped sailors find their direction at sea.",
    "Photosynthesis lets plants turn carbon dioxide and water into sugar using light.",
    "Red blood cells carry oxygen from the lungs to the rest of the body.",
    "Whales are mammals that breathe air through a blowhole.",
    "Octopuses have three hearts and blue blood.",
    "Penguins cannot fly, but they are excellent swimmers.",
    "Bats use echolocation to find insects in the dark.",
    "The cheetah is the fastest land animal over short distances.",
    "Tortoises can live for more than a hundred years.",
    "Owls hunt mostly at night and can turn their heads very far.",
    "Salmon swim upstream to the rivers where they hatched in order to spawn.",
    "Honeybees communicate the direction of flowers with a waggle dance.",
    "The human skeleton of an adult has about two hundred and six bones.",
    "The Roman Colosseum could hold tens of thousands of spectators.",
    "The Great Wall was built over many centuries to protect northern borders.",
    "The ancient Egyptians built pyramids as tombs for their pharaohs.",
    "Vikings sailed from Scandinavia in long ships with square sails.",
    "The Silk Road connected traders between China and the Mediterranean.",
    "A violin has four strings and is played with a bow.",
    "The piano has eighty-eight keys.",
    "Chess is played on a board of sixty-four squares.",
    "The Olympic Games began in ancient Greece.",
    "A marathon is a little over forty-two kilometres long.",
    "Bread rises because yeast produces carbon dioxide gas.",
    "Coffee beans are the roasted seeds of a tropical plant.",
    "Rice is a staple food for more than half of the world's people.",
    "Glass is made mostly from melted sand.",
    "Copper is a good conductor of electricity and is used in wires.",
    "Diamonds are made of carbon atoms arranged in a crystal.",
    "Earthquakes happen when rocks along a fault suddenly slip.",
    "Volcanoes form where molten rock reaches the surface.",
    "Tides are caused mainly by the gravitational pull of the Moon.",
    "Lightning is a sudden discharge of static electricity in the atmosphere.",
    "Rainbows appear when sunlight is refracted by raindrops.",
    "Sound travels faster in water than in air.",
    "A leap year has three hundred and sixty-six days.",
    "Maps usually show north at the top.",
    "Libraries lend books to members for free or for a small fee.",
    "Trains run on rails and can carry heavy freight over long distances.",
    "A thermometer measures temperature.",
    "A barometer measures air pressure and helps forecast the weather.",
    "Recycling paper saves trees and energy.",
)

# General questions for the semantic slice, answered by the *base model itself* before
# consolidation (pseudo-rehearsal: the targets are its own pre-training answers, right
# or wrong, never labels). Disjoint from CORE_QA, so the drift guard is not trained on.
SEMANTIC_QA: tuple[str, ...] = (
    "What is 7 plus 1?",
    "What is 6 minus 2?",
    "What is 3 times 3?",
    "What is 20 minus 10?",
    "What is 11 plus 11?",
    "How many legs does an insect have?",
    "How many wings does a bird have?",
    "How many eyes does a person have?",
    "How many days are in a year?",
    "How many weeks are in a year?",
    "What day comes after Wednesday?",
    "What day comes before Friday?",
    "What month comes after March?",
    "What month comes before June?",
    "Which season is the coldest?",
    "What is the opposite of light?",
    "What is the opposite of full?",
    "What is the opposite of old?",
    "What is the opposite of early?",
    "What is the opposite of wet?",
    "What color is an orange?",
    "What color is chocolate?",
    "What color is a lemon?",
    "What color are clouds?",
    "What animal says quack?",
    "What animal says baa?",
    "What animal has a trunk?",
    "What do spiders spin?",
    "What do hens lay?",
    "What is a baby horse called?",
    "What is a baby cow called?",
    "Where do fish live?",
    "What do we breathe out?",
    "What do we call a person who flies airplanes?",
    "What do we call a doctor for animals?",
    "What do we use to cut paper?",
    "What do you use to write on a blackboard?",
    "What do you wear on your feet?",
    "What do you sleep in?",
    "What do we call the frozen form of rain?",
    "Who wrote The Adventures of Tom Sawyer?",
    "Who wrote Oliver Twist?",
    "Who painted The Starry Night?",
    "Who discovered gravity when an apple fell?",
    "Who invented the light bulb?",
    "What is the hottest planet in our solar system?",
    "What is the closest planet to the Sun?",
    "What is the largest mammal?",
    "What is the fastest bird?",
    "What is the main ingredient of guacamole?",
    "What is the plural of goose?",
    "What is the plural of foot?",
    "What is the past tense of run?",
    "What is the past tense of see?",
    "What letter comes after M?",
    "What shape has three sides?",
    "What instrument has black and white keys?",
    "What do you call a group of wolves?",
    "What sport uses a bat and a ball and has innings?",
    "What is the boiling point of water in Fahrenheit?",
)

HELDOUT_TEXT: tuple[str, ...] = (
    "On a quiet morning the harbour was full of small fishing boats. The fishermen sorted "
    "their nets while gulls circled overhead, waiting for scraps. By noon most of the boats "
    "had gone back out to sea, and the market stalls along the quay began to close.",
    "Learning to ride a bicycle takes patience. Most children start with training wheels, "
    "then practise balancing on a gentle slope. Once they can glide without pedalling, "
    "pedalling and steering come naturally, and a fall or two is part of the process.",
    "The old library had tall windows and long wooden tables. Students came in the "
    "afternoon to read and write, and the librarian kept a list of new arrivals on a board "
    "near the entrance. In winter the reading room was the warmest place in town.",
    "A good soup starts with onions cooked slowly in a little oil. Add carrots, celery and "
    "a few potatoes, then cover everything with stock and let it simmer. Season it at the "
    "end, because the flavour becomes stronger as the liquid reduces.",
    "The hiking trail climbed through a pine forest before opening onto a ridge. From the "
    "top, walkers could see the valley, the river and the village roofs. Most groups rested "
    "there for lunch before taking the longer path back down.",
    "Many cities have started planting trees along their streets. Trees give shade in the "
    "summer, reduce noise from traffic and make neighbourhoods more pleasant to walk in. "
    "They also help to cool the air on hot days.",
    "When the power went out, the family lit candles and played cards at the kitchen table. "
    "The storm kept going for hours, but nobody minded much. By the time the lights came back "
    "on, the children had fallen asleep on the sofa.",
    "Gardening teaches people to plan ahead. Seeds planted in spring need water, sunlight "
    "and space to grow, and weeds must be pulled before they take over. By late summer the "
    "effort pays off with vegetables, herbs and flowers.",
)

# Well-known real entities of many kinds (people, places, firms, works, products). Edit
# consolidation swaps one of them into an edited prompt in place of its subject and holds
# the model's output there to the base model's (KL): the edit's relation must not move
# for subjects that were not edited. Chosen by hand; no benchmark record was read.
NEIGHBOUR_ENTITIES: tuple[str, ...] = (
    "Albert Einstein",
    "Marie Curie",
    "William Shakespeare",
    "Pablo Picasso",
    "Ludwig van Beethoven",
    "Frida Kahlo",
    "Nelson Mandela",
    "Leo Tolstoy",
    "Cristiano Ronaldo",
    "Serena Williams",
    "Barack Obama",
    "Queen Victoria",
    "Paris",
    "Tokyo",
    "Cairo",
    "Buenos Aires",
    "Toronto",
    "Mumbai",
    "Sydney",
    "Berlin",
    "Brazil",
    "Canada",
    "Kenya",
    "Norway",
    "Vietnam",
    "Mexico",
    "Toyota",
    "Microsoft",
    "Nokia",
    "Nestle",
    "Siemens",
    "Samsung",
    "BBC",
    "Volkswagen",
    "IBM",
    "Sony",
    "The Beatles",
    "Harry Potter",
    "Mona Lisa",
    "Star Wars",
    "The Simpsons",
    "Don Quixote",
    "Windows 95",
    "iPhone",
    "PlayStation",
    "Boeing 747",
    "Real Madrid",
    "Manchester United",
    "Oxford University",
    "the Amazon River",
    "Mount Everest",
    "the Louvre",
    "NASA",
    "the Red Cross",
)

__all__ = [
    "CORE_QA",
    "HELDOUT_TEXT",
    "NEIGHBOUR_ENTITIES",
    "SEMANTIC_FACTS",
    "SEMANTIC_QA",
    "CoreQuestion",
]
