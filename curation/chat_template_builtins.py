"""The Jinja source of the built-in chat templates (curation/chat_templates.py builds them).

Written in the Hugging Face convention. Every piece of output is a ``{{- … }}`` expression and every tag strips
the whitespace around it, so the layout of the source never leaks into the rendered text. Message keys are read
as ``message['role']``: in the sandbox a subscript is faster than an attribute.

- ``CHATML``: ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per turn. Tool calls as Hermes/Qwen 2.5 write them
  (``<tool_call>\\n{"name": …, "arguments": …}\\n</tool_call>`` after the turn's text); tool results as role
  ``tool``; tool definitions in the system turn, as Qwen 2.5 writes them.
- ``LLAMA3``: ``<|begin_of_text|>``, then ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content|trim}<|eot_id|>``.
  Tool results as role ``ipython``; a tool call as ``{"name": …, "parameters": …}`` in the assistant turn (after
  its text, if any; one call per turn, as Llama 3.1 allows); tool definitions in the system turn, as Llama 3.1
  writes them when they are not in the user turn (without its date lines, so the text is the same on every run).
- ``MISTRAL``: Mistral 7B Instruct v0.1: ``<s>[INST] {system\\n\\n}{user} [/INST] {assistant}</s>[INST] …``; the
  system prompt joins the first user turn; no tool turns.
"""

CHATML = r"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages and messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] ~ '\n\n' }}
    {%- endif %}
    {{- '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' }}
    {{- 'You are provided with function signatures within <tools></tools> XML tags:\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' ~ tool | tojson }}
    {%- endfor %}
    {{- '\n</tools>\n\nFor each function call, return a json object with function name and arguments within ' }}
    {{- '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}' }}
    {{- '\n</tool_call><|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if loop.first and message['role'] == 'system' and tools %}
    {%- elif message['role'] == 'assistant' and message['tool_calls'] %}
        {{- '<|im_start|>assistant' }}
        {%- if message['content'] %}
            {{- '\n' ~ message['content'] }}
        {%- endif %}
        {%- for call in message['tool_calls'] %}
            {%- set function = call.function if call.function is defined else call %}
            {{- '\n<tool_call>\n{"name": ' ~ function.name | tojson ~ ', "arguments": ' }}
            {{- function.arguments if function.arguments is string else function.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>' ~ message['role'] ~ '\n' ~ message['content'] ~ '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

LLAMA3 = r"""
{{- bos_token }}
{%- set system = namespace(text='') %}
{%- if messages and messages[0]['role'] == 'system' %}
    {%- set system.text = messages[0]['content'] | trim %}
{%- endif %}
{%- if tools %}
    {%- set definitions = tools | map('tojson', indent=4) | join('\n\n') %}
    {%- set system.text = 'You have access to the following functions. To call a function, please respond with '
        ~ 'JSON for a function call. Respond in the format {"name": function name, "parameters": dictionary of '
        ~ 'argument name and its value}. Do not use variables.\n\n' ~ definitions
        ~ ('\n\n' ~ system.text if system.text else '') %}
{%- endif %}
{%- if system.text %}
    {{- '<|start_header_id|>system<|end_header_id|>\n\n' ~ system.text ~ '<|eot_id|>' }}
{%- endif %}
{%- for message in messages %}
    {%- if loop.first and message['role'] == 'system' %}
    {%- elif message['role'] == 'assistant' and message['tool_calls'] %}
        {%- if message['tool_calls'] | length != 1 %}
            {{- raise_exception('the llama3 template writes one tool call per assistant turn') }}
        {%- endif %}
        {%- set call = message['tool_calls'][0] %}
        {%- set function = call.function if call.function is defined else call %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
        {%- if message['content'] %}
            {{- (message['content'] | trim) ~ '\n' }}
        {%- endif %}
        {{- '{"name": ' ~ function.name | tojson ~ ', "parameters": ' }}
        {{- function.arguments if function.arguments is string else function.arguments | tojson }}
        {{- '}<|eot_id|>' }}
    {%- else %}
        {%- set role = 'ipython' if message['role'] == 'tool' else message['role'] %}
        {{- '<|start_header_id|>' ~ role ~ '<|end_header_id|>\n\n' ~ (message['content'] | trim) ~ '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

MISTRAL = r"""
{{- bos_token }}
{%- set state = namespace(system='', turn=0) %}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {%- if not loop.first %}
            {{- raise_exception('a system turn may only come first') }}
        {%- endif %}
        {%- set state.system = message['content'] ~ '\n\n' %}
    {%- else %}
        {%- if message['role'] not in ('user', 'assistant') or message['tool_calls'] %}
            {{- raise_exception('the mistral template writes only system, user and assistant turns, without tools') }}
        {%- endif %}
        {%- if (message['role'] == 'user') != (state.turn % 2 == 0) %}
            {{- raise_exception('user and assistant turns must alternate, starting with user') }}
        {%- endif %}
        {%- if message['role'] == 'user' %}
            {{- '[INST] ' ~ state.system ~ message['content'] ~ ' [/INST]' }}
            {%- set state.system = '' %}
        {%- else %}
            {{- ' ' ~ message['content'] ~ eos_token }}
        {%- endif %}
        {%- set state.turn = state.turn + 1 %}
    {%- endif %}
{%- endfor %}
"""
