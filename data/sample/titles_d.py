"""Hand-written sample titles (original text, not copied from Reddit), part four.

Includes the awkward cases a real dump has: HTML entities as Reddit stores them, deleted and
removed posts, and an excluded meme subreddit.
"""

TITLES = {
    "NoStupidQuestions": """
Why do we say "heads up" when we actually mean look out?
Is it rude to eat lunch at your desk during a video call?
How do people fall asleep on planes?
Why are there so many different USB cables?
Do fish get thirsty?
Is it normal to not have a favourite colour?
How do people know what they want to do with their lives?
Why do airline seats still have ashtrays?
What happens if you don't return a library book for 20 years?
Why do we park on a driveway and drive on a parkway?
Is it weird to go to the cinema alone?
How do escalators and elevators get installed in old buildings?
Why is it called a "building" if it's already built?
How do you make friends as an adult?
Does everyone hear their own thoughts as a voice?
Why do people clap when the plane lands?
How much water is actually too much water?
Why don't we have a vaccine for the common cold?
Is it okay to wear socks with sandals at home?
How do you politely leave a conversation that's going on too long?
Why do dogs tilt their heads when you talk to them?
If everyone is unique, what makes identical twins different?
Why are pizza boxes square when pizzas are round?
How do birds know where to migrate?
Can you actually get sick from going outside with wet hair?
Why do we have to turn electronics off on a plane?
How do you know if you're a good driver?
Why does everyone hate Mondays if every day is basically the same?
Is it weird that I like the smell of rain?
Why do some people sneeze when they look at the sun?
How do people in movies always find a parking spot right outside?
Is it possible to forget how to ride a bike?
Why is a "pair" of pants only one item?
What do astronauts do when they get an itch in their spacesuit?
How does anyone afford a house these days?
Why do I always get my best ideas in the shower?
Do people still use cheques?
Why does the other checkout line always move faster?
What's the point of the little pocket in jeans?
How do you stop overthinking everything?
Why do cats knock things off tables?
Is it normal to talk to yourself out loud?
""",
    "mildlyinteresting": """
The way the frost formed on my car window looks like ferns
This potato I peeled is shaped exactly like a duck
My hotel room has a window into the bathroom
Found a strawberry with a smaller strawberry growing out of it
The rust on this old gate made a perfect heart shape
My banana has no seeds in the middle
This tree grew around an old bicycle
The shadow of my coffee mug looks like a rabbit
The supermarket near me sells single slices of cake in vending machines
My receipt was longer than I am tall
The colours of these pencils fade perfectly from one to the next
I found a four-leaf clover while waiting for the bus
My old phone and new phone side by side after 10 years
These two leaves fell off the same tree but are completely different colours
The paint in this parking garage is worn only where people walk
This egg had two yolks, and so did the next three
My cat's paw pads are half pink and half black
Sunlight through the blinds made a barcode on my wall
Found my name carved into a tree I don't remember carving
This building has a fake window painted on it
The pattern on this moth's wings looks like an eye
My local bakery sells bread in the shape of a turtle
This rock I found on the beach has a perfect ring around it
The elevator in my building skips the 13th floor
My lemon tree produced one gigantic lemon
This crosswalk signal has a little hat on it
The ice in my glass froze with a tiny bubble tower inside
The gum on the sidewalk makes a map of the busiest paths
My thumb print left a perfect spiral in the flour
This old coin I found is from the year my grandmother was born
The train station clock is exactly one minute fast on purpose
The sugar packets at this cafe have fun facts on the back
My houseplant leaned so far toward the window it's now horizontal
This orange has a belly button with a tiny orange inside
The water in this lake is two completely different colours
My dentist has a ceiling mural to look at while you wait
This sign was translated into 7 languages but still has a typo
Found a bottle cap from a brand that closed in the 80s
My shoelace snapped at exactly the same spot on both shoes
The snow melted everywhere except the shape of my car
""",
    "Jokes": """
I told my wife she was drawing her eyebrows too high. She looked surprised.
Why don't skeletons fight each other? They don't have the guts.
I'm reading a book about anti-gravity. It's impossible to put down.
What do you call a fake noodle? An impasta.
My boss told me to have a good day, so I went home.
Why did the scarecrow win an award? He was outstanding in his field.
I used to play piano by ear, but now I use my hands.
Parallel lines have so much in common. It's a shame they'll never meet.
Why did the bicycle fall over? It was two-tired.
I don't trust stairs. They're always up to something.
What do you call a bear with no teeth? A gummy bear.
I would tell you a construction joke, but I'm still working on it.
Why can't you hear a pterodactyl go to the bathroom? Because the P is silent.
My dog used to chase people on a bike. We had to take his bike away.
Why did the math book look sad? It had too many problems.
I asked the librarian if they had books on paranoia. She whispered, "They're right behind you."
What's orange and sounds like a parrot? A carrot.
The rotation of the earth really makes my day.
A man walks into a library and asks for books about fish and chips...
Why do cows wear bells? Because their horns don't work.
I got fired from the calendar factory for taking a day off.
How does a penguin build its house? Igloos it together.
My friend's bakery burned down last night. Now his business is toast.
I only know 25 letters of the alphabet. I don't know y.
What did the ocean say to the beach? Nothing, it just waved.
Why don't eggs tell jokes? They'd crack each other up.
I'm on a seafood diet. I see food and I eat it.
A priest, a rabbi and a duck walk into a bar...
Did you hear about the claustrophobic astronaut? He just needed a little space.
What do you call a factory that makes okay products? A satisfactory.
My therapist says I have a preoccupation with vengeance. We'll see about that.
Why was the computer cold? It left its Windows open.
I told a chemistry joke once, but there was no reaction.
What did the grape do when it got stepped on? It let out a little wine.
A grandfather goes to the doctor for his annual check-up...
Why did the golfer bring two pairs of pants? In case he got a hole in one.
What do you call a dinosaur that is sleeping? A dino-snore.
I was going to tell a time-travelling joke, but you didn't like it.
How do you organize a space party? You planet.
What did one wall say to the other? I'll meet you at the corner.
""",
    "me_irl": """
me_irl
me🥺irl
Me_irl
me irl when the alarm goes off
""",
}

# Real dumps store titles HTML-escaped and keep placeholders for deleted posts; these
# exercise the cleaning step. Each is (subreddit, title) as it would appear in a dump.
AWKWARD = [
    ("AskReddit", "What&#39;s the best thing you&#x27;ve bought for under &pound;20?"),
    ("AskReddit", "[deleted]"),
    ("AskReddit", "[removed]"),
    ("worldnews", "EU &amp; UK agree on fishing rights after all-night talks"),
    ("worldnews", "Minister says &quot;no deal&quot; is still on the table"),
    ("Cooking", "Salt &gt; sugar when caramelising onions? Discuss"),
    ("Cooking", "Made  fresh\tpasta \n for the first time and it was so much easier than I thought"),
    ("todayilearned", "TIL the \u00a0non-breaking space\u00a0has its own HTML entity: &amp;nbsp;"),
    ("gaming", "Finally got the \ufffd\ufffdplatinum trophy"),
    ("books", "\u0643\u062a\u0627\u0628 \u062c\u062f\u064a\u062f: what Arabic novels should I read first?"),
    ("science", "\u00c9tude: les abeilles reconnaissent les visages humains \U0001f41d"),
    ("Jokes", "[removed]"),
    ("aww", "\U0001f436 first day home, already owns the couch"),
    ("Showerthoughts", "   "),
]
