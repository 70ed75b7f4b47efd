"""Hand-written sample titles (original text, not copied from Reddit), part one."""

TITLES = {
    "AskReddit": """
What's a skill you learned as an adult that you wish you'd learned as a kid?
People who moved to a new country alone, what was the hardest first month like?
What's the most useless fact you know by heart?
Teachers of Reddit, what's the funniest excuse a student has given you?
What small purchase improved your life way more than expected?
What's something everyone pretends to like but secretly hates?
Night shift workers, what's the strangest thing you've seen at 3am?
What food did you hate as a child but love now?
If you could instantly master one instrument, which would it be and why?
What's a movie that got better the second time you watched it?
Nurses of Reddit, what's a patient story that still makes you smile?
What's the worst advice you've ever received that you actually followed?
What hobby is way more expensive than people realize?
Which childhood TV show would not hold up today?
What's a "rich people thing" you started doing and will never stop?
What do you do when you can't fall asleep?
What's the weirdest rule your parents had growing up?
People who quit social media, what changed for you?
What's something you were embarrassingly late to find out?
What's the best thing to happen to you this year so far?
Mechanics of Reddit, what's the most common mistake car owners make?
What's an unwritten rule at your workplace?
What's your go-to comfort meal after a long day?
What's a place you visited that was nothing like the pictures?
What tiny habit saves you the most time every week?
What would you name a boat if you owned one?
What's the kindest thing a stranger has done for you?
Introverts of Reddit, how do you recharge after a party?
What's a job that sounds fun but is actually miserable?
What's the most overrated tourist attraction you've been to?
What is your "I'm an adult now" moment?
Programmers of Reddit, what's the worst bug you've ever shipped?
What video game world would you actually want to live in?
What's a question you've always wanted to ask but felt too awkward to?
What common phrase do people constantly get wrong?
Parents of Reddit, what's something your kid said that floored you?
What's the best piece of free software you use every day?
What's a memory that randomly pops into your head for no reason?
Librarians of Reddit, what's the strangest thing returned inside a book?
What's the most satisfying sound in the world?
What's a smell that instantly takes you back to childhood?
What's something you did as a teenager that you'd never do now?
What would you do with an extra hour every day?
Chefs of Reddit, what dish do you refuse to order at restaurants?
What's the dumbest argument you've ever won?
What's the best compliment you've ever received from a stranger?
What are you currently saving up for?
What's a "life hack" that actually made things worse?
""",
    "worldnews": """
Heatwave pushes temperatures past 45C across southern Europe as wildfires spread
Central bank holds interest rates steady, signals possible cut later this year
Thousands rally in capital demanding early elections after corruption scandal
Scientists confirm record low sea ice extent for the month of August
Earthquake of magnitude 6.4 strikes off coast; no tsunami warning issued
Government announces nationwide ban on single-use plastic bags from next year
Talks between trade delegations collapse without agreement on tariffs
Floods displace more than 200,000 people after week of monsoon rains
Former prime minister sentenced to six years for embezzlement
Amazon fires: satellite data shows sharp rise in blazes compared with last year
UN report warns one million species face extinction without urgent action
Airline grounds entire fleet after pilots' strike enters third day
Parliament votes to legalise same-sex marriage in historic decision
Protesters occupy airport terminal, forcing cancellation of hundreds of flights
Researchers discover new species of giant tortoise on remote island
Currency falls to record low after surprise election result
Country becomes first in region to run entirely on renewable power for a full day
Police arrest 14 in international phone scam targeting elderly
Volcano erupts near tourist island, evacuation ordered for nearby villages
Health ministry reports measles cases tripled compared to last year
Historic peace deal signed ending decades-long border dispute
Major port city bans cruise ships from historic centre
Journalist released after spending 400 days in detention without charge
Glacier declared dead as locals hold funeral-style memorial
Landslide buries village after days of heavy rain, dozens missing
Government to raise minimum wage by 12 percent, the largest rise in a decade
Tech giant fined record sum by regulators over data privacy violations
Drought forces authorities to ration drinking water in capital
Oil tanker seized in strait, raising tensions in the region
Nationwide power outage leaves 40 million without electricity for hours
Court rules election result valid, rejecting opposition challenge
World's oldest known cave painting discovered in limestone cave
City introduces free public transport for all residents
Rare white giraffe and calf killed by poachers, conservationists say
Ferry capsizes in storm; coast guard rescues 120 passengers
Election commission delays vote citing security concerns
Wildlife officials report first wild wolf pack in region for a century
Diplomats expelled in tit-for-tat row over spying allegations
Teachers strike closes schools across the country for second week
Scientists warn coral reef bleaching now happening every other year
Millions of locusts swarm farmland, threatening food supply
Prime minister resigns after losing confidence vote
Bank robbers tunnel into vault over holiday weekend, escape with millions
Country pledges to plant one billion trees by 2030
Border reopens after three-year closure, families reunite
Record number of migrants rescued at sea this summer, aid groups say
""",
    "todayilearned": """
TIL octopuses have three hearts, and two of them stop beating when they swim
TIL the shortest war in history lasted between 38 and 45 minutes
TIL honey never spoils; edible honey has been found in ancient Egyptian tombs
TIL a group of flamingos is called a "flamboyance"
TIL the inventor of the Pringles can asked to be buried in one
TIL bananas are berries but strawberries are not
TIL Scotland's national animal is the unicorn
TIL sea otters hold hands while sleeping so they don't drift apart
TIL there are more possible chess games than atoms in the observable universe
TIL the Eiffel Tower grows about 15 cm taller in summer because of thermal expansion
TIL wombats produce cube-shaped poop
TIL the first computer bug was an actual moth stuck in a relay
TIL a day on Venus is longer than a year on Venus
TIL cows have best friends and get stressed when separated from them
TIL the word "nerd" was first used by Dr. Seuss
TIL Oxford University is older than the Aztec Empire
TIL some turtles can breathe through their butts
TIL the heart of a blue whale is the size of a small car
TIL the dot over the letters i and j is called a tittle
TIL Cleopatra lived closer in time to the Moon landing than to the building of the Great Pyramid
TIL koalas sleep up to 22 hours a day
TIL the Hawaiian alphabet has only 13 letters
TIL a bolt of lightning is about five times hotter than the surface of the sun
TIL the longest hiccuping spree lasted 68 years
TIL crows can recognize human faces and hold grudges
TIL the original name of Google was "BackRub"
TIL a single cloud can weigh more than a million pounds
TIL astronauts grow up to 2 inches taller in space
TIL the fingerprints of koalas are almost indistinguishable from human ones
TIL the first oranges weren't orange, they were green
TIL that a jiffy is an actual unit of time
TIL Canada has more lakes than the rest of the world combined
TIL the tongue of a chameleon can be twice the length of its body
TIL hot water can freeze faster than cold water, known as the Mpemba effect
TIL the Great Wall of China is not visible from space with the naked eye
TIL pineapples take about two years to grow
TIL the inventor of the frisbee was turned into a frisbee after he died
TIL a snail can sleep for three years
TIL there is a town in Norway called Hell, and it freezes over every winter
TIL Vikings used the bones of slain animals when smithing new weapons
TIL goats have accents that change depending on their social group
TIL the average person walks the equivalent of five times around the world in a lifetime
TIL that in Switzerland it is illegal to own just one guinea pig
TIL humans share about 60% of their DNA with bananas
TIL the voice actors of Mickey and Minnie Mouse were married in real life
TIL there's a species of jellyfish that is biologically immortal
""",
    "Showerthoughts": """
Your future self is watching you right now through memories
Nothing is on fire, fire is on things
The word "bed" actually looks like a bed
Maybe plants are farming us by giving us oxygen until we decompose
Every time you clean something, you make something else dirty
A lot of people have probably died in the middle of a sentence
Your stomach thinks all potatoes are mashed
Lawyers hope you get sued, doctors hope you get sick, only a thief wants you to prosper
Being an adult is mostly just googling how to do stuff
The youngest person reading this is the youngest they'll ever be
Someday there will be a last person to wear a fidget spinner
When you wait for a waiter, you become the waiter
Vacuum cleaners are just brooms that ate the dustpan
Eyebrows are just mustaches for your eyes
If you lose a sock, you now have a sock you can't use and a sock you can't find
Dogs probably think we're terrible hunters because we never bring anything back
A 'day off' is really just a day on at home
We are the only species that pays to live on the planet
Mirrors are just windows that look back in time by a few nanoseconds
Your age is just the number of laps you've done around the sun
There are probably ghosts of fish in the ocean too
Phones went from being attached to walls to us being attached to phones
Nobody knows what they actually sound like to other people
The snooze button is a negotiation with your past self
The Alphabet song and Twinkle Twinkle Little Star have the same tune
Clapping is just hitting yourself because you like something
Pickles are just cucumbers that went through a lot
You've never actually seen your own face, only reflections and pictures
Somewhere in the world there's a dog that has been petted more than any other dog
Elevators are just tiny rooms that move
Someone out there has the most average life of anyone on Earth
Lemon-scented cleaners smell like lemons, but lemon juice smells like cleaner
Breakfast cereal is just cold soup
The person who named the fork probably had a spoon
Your shadow is proof that you're blocking the sun
An escalator can never break, it can only become stairs
Saying "I'm not going to lie" usually comes right before someone exaggerates
Technically every photo of you is a photo of a stranger's past
Fish probably don't know they're wet
Sleeping is basically time travel to breakfast
Your brain named itself
The first person to hear a parrot talk must have been really confused
Every year you pass the anniversary of your own death without knowing it
Ice is just water that got too cold to handle things
Calling it "lunch break" makes lunch sound like something you need a break from
Socks are just shoes for your shoes
""",
}
