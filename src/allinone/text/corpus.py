"""A small built-in English corpus of tracking descriptions, for a vocabulary with no data at all.

The phrases read like the target descriptions of LaSOT / TNL2K / RefCOCOg ("the black dog running
on the grass"): an object class with colour, size, appearance, position and motion words. They are
composed from the word groups below in a fixed order, so the corpus (and the vocabulary built from
it) is the same on every run.
"""
from __future__ import annotations

# Object classes: the LaSOT categories and the COCO classes / supercategories, plus people.
OBJECTS = (
    "airplane plane aircraft jet helicopter drone balloon kite bird eagle crow duck goose swan pigeon "
    "parrot owl bat butterfly bee fly insect person man woman boy girl child kid baby people player "
    "athlete runner rider driver pilot dancer skater skier surfer cyclist swimmer soldier lady guy "
    "car bus truck train tram taxi van jeep tank motorcycle motorbike bicycle bike scooter boat ship "
    "yacht canoe kayak sailboat vehicle dog puppy cat kitten horse pony sheep cow cattle bull pig "
    "goat deer elephant bear panda zebra giraffe lion tiger leopard cheetah fox wolf rabbit squirrel "
    "mouse rat monkey gorilla kangaroo hippo crocodile lizard gecko chameleon turtle frog snake spider "
    "crab shark fish goldfish dolphin whale octopus squid sepia animal ball basketball volleyball "
    "football soccer baseball tennis racket bat frisbee skateboard surfboard snowboard skis sled "
    "helmet hat cap umbrella bag backpack handbag suitcase bottle cup glass bowl plate fork knife "
    "spoon banana apple orange sandwich pizza donut cake carrot broccoli chair couch sofa bench bed "
    "table toilet tv laptop keyboard phone remote microphone guitar drum book clock vase scissors "
    "toothbrush teddy toy doll robot coin cube yoyo flag sign light hydrant meter fan lamp box "
    "target hand face head swing pool"
).split()

COLOURS = ("red orange yellow green blue purple pink brown black white gray grey silver golden gold "
           "beige dark bright colorful striped spotted transparent").split()

SIZES = "small large big tiny huge little giant medium tall short long thin thick wide narrow".split()

APPEARANCE = ("round square rectangular circular flat curved wooden metal plastic shiny fluffy furry "
              "hairy wet dirty clean old young new fast slow heavy empty open closed").split()

POSITIONS = ("left right top bottom middle center centre front back behind near far above below under "
             "over beside next between inside outside corner edge side upper lower leftmost "
             "rightmost closest nearest farthest first second third last foreground background "
             "distance").split()

MOTIONS = ("moving running walking flying swimming jumping driving riding sitting standing lying rolling "
           "falling climbing dancing playing turning crossing following chasing carrying holding "
           "wearing floating sailing landing hovering spinning bouncing crawling skating skiing "
           "surfing throwing catching kicking hitting eating drinking talking looking pushing "
           "pulling shaking waving racing diving hiding sleeping stopping").split()

PARTS = ("hair shirt jacket coat pants shorts dress shoes glasses mask tail wing wings leg legs arm "
         "body wheel wheels roof window door ear ears nose eye eyes").split()

SCENES = ("road street grass field water sky river lake sea ocean beach snow sand tree trees forest "
          "building wall floor ground track court stage room crowd cage fence bridge mountain hill "
          "rock cloud air park garden house city desert ice shore runway pitch screen").split()

PREPOSITIONS = ("on in at with near along across through toward towards around into from over under "
                "behind beside").split()

DETERMINERS = "the a an this that another one two three some".split()

# Handwritten descriptions in the style of the benchmarks' annotations.
SENTENCES = (
    "the black dog running on the grass",
    "a white airplane flying in the blue sky",
    "the person in a red shirt walking on the left side of the road",
    "the bird standing on the branch of the tree",
    "a car driving along the street at night",
    "the boy riding a bicycle across the park",
    "the leftmost zebra in the herd",
    "the second person from the right wearing a white hat",
    "a small boat sailing on the lake near the shore",
    "the basketball player with the ball jumping toward the basket",
    "the giraffe eating leaves from the tall tree",
    "the horse running around the track behind the fence",
    "the drone hovering above the building in the distance",
    "a girl in a pink dress dancing on the stage",
    "the kite flying high over the beach",
    "the motorcycle racing on the track in front of the crowd",
    "the cat sleeping on the couch next to the window",
    "the man holding an umbrella crossing the street",
    "the yellow taxi stopping at the corner",
    "a person skiing down the snow covered mountain",
    "the surfer riding a wave in the ocean",
    "the robot moving on the floor of the room",
    "the hand holding the cup on the table",
    "the bear walking slowly in the forest",
    "the red flag waving in the wind",
    "the tank moving through the desert",
    "the train going over the bridge",
    "the fish swimming under the water",
    "the monkey climbing up the wall of the cage",
    "target is the tallest person at the bottom of the frame",
    "object number 1 is the car, object 2 is the bus.",
    "the 3rd player (wearing number 10) kicks the ball!",
    "where is the dog? it is 5 meters away; near 0 4 6 7 8 9",
    "a man's bag - the brown one - is on the chair",
    "the elephant and its baby walking toward the river",
    "the white sheep in the middle of the group",
    "the shark swimming fast at the top right of the video",
    "the lizard hiding between the rocks at the bottom left",
    "the coin spinning on the table and then falling down",
    "the skateboard rolling down the hill without its rider",
)


def default_corpus() -> list[str]:
    """About 1,000 English tracking descriptions (≈ 450 distinct words), always in the same order."""
    phrases = list(SENTENCES)
    n = len(OBJECTS)
    for i, obj in enumerate(OBJECTS):
        colour, size = COLOURS[i % len(COLOURS)], SIZES[(3 * i) % len(SIZES)]
        motion, scene = MOTIONS[(5 * i) % len(MOTIONS)], SCENES[(7 * i) % len(SCENES)]
        prep, pos = PREPOSITIONS[i % len(PREPOSITIONS)], POSITIONS[(11 * i) % len(POSITIONS)]
        det = DETERMINERS[i % len(DETERMINERS)]
        phrases.append(f"{det} {size} {colour} {obj} {motion} {prep} the {scene}")
        phrases.append(f"the {obj} on the {pos} of the {SCENES[(13 * i) % len(SCENES)]}")
        look = APPEARANCE[i % len(APPEARANCE)]
        part = PARTS[(3 * i) % len(PARTS)]
        phrases.append(f"a {look} {obj} with {COLOURS[(5 * i) % len(COLOURS)]} {part}")
        other = OBJECTS[(i * 17 + 5) % n]
        phrases.append(f"the {obj} {MOTIONS[(3 * i + 1) % len(MOTIONS)]} {pos} of the {other}")
    for group in (COLOURS, SIZES, APPEARANCE, POSITIONS, MOTIONS, PARTS, SCENES):
        for j, word in enumerate(group):
            phrases.append(f"the {word} {OBJECTS[(j * 31) % n]}")
    return phrases
